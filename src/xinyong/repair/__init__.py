"""信用修复: a subject applies to end a penalty record's publicity; staff accept, return for
completion, approve or reject; approval stops publicity and ends list entries resting on it."""
