"""Random inspection plans (双随机一公开): plans, grade-weighted draws from a published seed, results."""
