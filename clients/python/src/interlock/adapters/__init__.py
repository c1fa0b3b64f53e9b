"""Framework adapters. Each module imports nothing from its framework: the objects are
duck-typed, so `import interlock.adapters.X` works whether or not the framework is
installed."""
