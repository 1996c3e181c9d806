"""Fine-tuning and evaluating the LLaQo model: the datasets (data/), their batches (collate, batches), what is
trained (recipe), the loop (train, configured by config) and its saves (saving), evaluation (evaluate), metrics."""
