## cards
