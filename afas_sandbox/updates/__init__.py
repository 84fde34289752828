"""UpdateConnectors: payload parsing, validation against metainfo, and transactional writes."""
