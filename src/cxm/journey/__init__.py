"""Journey analysis: stages, transitions, funnels, paths and attribution over interaction frames."""
