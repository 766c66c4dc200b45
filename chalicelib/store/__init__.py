"""PynamoDB models and the repository functions the use cases call. The only DynamoDB code."""
