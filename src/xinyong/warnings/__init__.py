"""Credit risk warnings (信用风险预警): rules as data, a set-based scan that raises warnings to the
departments responsible for a subject, and their handling (约谈, 整改, 信用修复 …)."""
