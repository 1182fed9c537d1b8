## src/card
