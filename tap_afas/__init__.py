"""tap-afas: a Singer tap for AFAS Profit GetConnectors."""
