"""What it remembers about her: facts, people, episodes, recall, import/export."""
