"""Moving a person's record in and out: groundup JSON, CSV tables and FHIR R4B."""
