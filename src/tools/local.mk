## src/tools
