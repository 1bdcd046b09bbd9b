// Package sweep runs an experiment over a grid of settings, several times
// each, and compares the results side by side: what "kiln sweep" does.
//
// A [Spec] names the experiment file, overrides for every run (as --set),
// the grids (settings to vary, each with its values) and the number of
// repeats. [NewPlan] expands it into cells, the Cartesian product of the
// grids' values (first grid slowest), and validates every cell before
// anything trains: its experiment is loaded with the overrides, built, its
// data loaded and checked against the model as Fit would, so a bad path or
// value fails fast with an error that names the --grid it came from.
//
// Each cell gets Repeats runs; repeat r uses seed base+r, where base is
// the cell's experiment seed (or [Spec].Seed). Runs are numbered cell-major
// (id = cell*Repeats + repeat), and [Plan.Run] trains them in parallel,
// Jobs at a time, each with kiln's Fit at verbose 0. A run's numbers do
// not depend on Jobs or on sharding: every run is its own Fit with its own
// seed, and Fit's results do not depend on how many goroutines it uses.
//
// [Plan.Shard] picks the i-th of n interleaved slices of the runs, for
// spreading a sweep over machines (see [ParseShard] for Kubernetes Indexed
// Jobs and Slurm arrays), and [Merge] puts shard results back together.
//
// [Results] hold the finished runs. [Results.WriteTable] prints one block
// per History key (loss, accuracy, val_loss, ...) with a row per cell: the
// final and best values as mean ± sd over repeats, and the ratio of the
// final mean to a baseline cell's. [Results.Save] writes:
//
//   - results.json: the plan (file, its SHA-256, overrides, grids, cells
//     with their values, seeds and effective configuration) and every
//     finished run's History, one run per line, ordered by id. It holds no
//     timings, so merged shards give the same bytes as one sweep.
//   - results.csv: one row per run and epoch, one column per grid and per
//     History key.
//   - summary.csv: the table's numbers, one row per cell.
//   - KEY.png / KEY.svg: per History key, one line per cell (the mean over
//     repeats) with a band of ± one sd.
package sweep
