"""target-afas: a Singer target that writes records through AFAS Profit UpdateConnectors."""
