"""The enterprise workspace (企业主页): its own sign-in and home, read across capabilities."""
