"""FHIR R4 (R4B models of fhir.resources) for the tracker: read-only API, $everything,
bulk export. Mapping and code systems: docs/fhir.md."""
