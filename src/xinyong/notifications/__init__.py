"""Notifications (通知): what an enterprise is told when one of its cases changes."""
