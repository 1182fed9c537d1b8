## src/transport
