"""The gateway's edges: upstream OpenAI-compatible servers, the routing file, Milvus."""
