## src/scws
