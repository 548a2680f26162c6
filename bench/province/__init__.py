"""A synthetic province on one PostgreSQL database, bulk-loaded with COPY (issue #22, part 2).

    .venv/bin/python -m bench.province --database-url postgresql://postgres@127.0.0.1/gg_geo_big
    .venv/bin/python -m bench.province --database-url … --scale 0.01          # one town, a quick run
    .venv/bin/python -m bench.province --database-url … --stages areas,people  # some stages only
    .venv/bin/python -m bench.province.bench --database-url …                  # the measurements

Run from the repository root. The database must exist and be empty: `flask db upgrade` migrates it
first (so it has exactly the app's schema, PostGIS column included when the extension is there).

At scale 1: 10 districts → 100 towns → 1,000 communities → 20,000 grids → 1,000,000 micro-grids,
each micro-grid a 0.001° square (about 93 m × 111 m) tiling 1° × 1° north-west of Zhoukou, Henan
(113–114° E, 33–34° N); a grid worker per grid, a staff member per town, a leader per district,
eight departments per district with one member each, an admin; 10,000 markets on lunar, Gregorian
and weekly rules, and a Spring Festival blackout per town. `--scale` counts towns (scale 0.01 is
one town of 10,000 micro-grids and 100 markets); everything below a town keeps its full size.

Stages. `STAGES` in `seed.py` is an ordered list of `Stage(name, run)`; `run(conn, ctx) -> None`
gets an open psycopg connection (one transaction per stage, committed after it) and the
`Context`, which holds what earlier stages made:

    ctx.seed, ctx.rng             the random seed and a `random.Random` seeded from it per stage
    ctx.scale                     the scale factor
    ctx.areas[level]              area ids by level ("district" … "micro_grid"), in id order
    ctx.area_path[id]             an area's path ("/1/12/130/"), for placing rows below an area
    ctx.users[role]               user ids by role ("grid_worker", "staff", "leader", "department", "admin")
    ctx.worker_of_grid[grid_id]   the grid worker of a grid
    ctx.departments               department ids; ctx.department_members[dept_id] → user ids
    ctx.categories                issue category ids
    ctx.markets                   market ids

A stage that needs what another made lists it after that one; `--stages` runs a subset in STAGES
order and rebuilds the context of the skipped ones from the database (`Context.load`).
"""
