"""Public credit evaluation (公共信用综合评价): scorecards as data, computed for every
organisation in one set-based pass, with reasons, history and a distribution report."""
