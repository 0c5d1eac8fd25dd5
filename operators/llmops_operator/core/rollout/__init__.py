"""The rollout state machine (pure: no clock, no I/O).

- `advance`: one tick (`advance`) and which Prometheus queries are due (`plan_measurements`);
- `interface`: what the shell tells the machine (`Observations`) and what it answers (`Decision`);
- `tick_state`: one tick's working state (`Tick`) and the moves every strategy shares;
- `canary`, `bluegreen`: the two strategies;
- `gates`: the analysis and load-test gates run on a `Tick`; `measurements`: the PromQL
  queries, how one value is judged and how measurements add up;
- `scaling`: replica counts and autoscaler bounds during a rollout;
- `validity`: a spec that cannot be rolled out, and the tick after it is fixed;
- `claims`: which ModelDeployment owns a traffic target.
"""
