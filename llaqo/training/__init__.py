"""Fine-tuning and evaluating the LLaQo model: the datasets (data/), batches (collate), the training loop
(train, configured by config), evaluation (evaluate) and its metrics. Nothing here is needed to serve the app."""
