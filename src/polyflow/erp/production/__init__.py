"""Production: the floor's master data, runs and orders with their costing, lots and quality, KPIs."""
