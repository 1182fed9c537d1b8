## src/tools: scwsemu-card (and later scwsemu-fetch).
