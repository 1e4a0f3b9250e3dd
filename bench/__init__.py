"""gridmap's benchmarks: one script per benchmark, figures in BENCHMARKS.md."""
