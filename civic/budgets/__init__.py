"""civic/budgets: 社区微更新: participatory budgeting rounds – residents decide together which costed
projects (adopted 金点子 ideas, committee resolutions) a community's limited budget pays for.

* ``rules`` — the voting rules that turn approval ballots into funded projects (greedy by votes, the
  Method of Equal Shares), exact integers in 分 and Fractions, checked against pabutools;
* ``pabulib`` — a reader of Pabulib ``.pb`` files (real instances, paper results).
"""
