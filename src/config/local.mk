## src/config
