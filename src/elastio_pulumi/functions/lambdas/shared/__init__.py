"""Code shared by the Cloud Connector functions: settings, AWS clients, envelopes, tables, tenant events."""
