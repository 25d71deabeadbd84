"""Open311 GeoReport v2 for partner organisations (12345 hotline, other platforms): civic's
complaint categories as services, partners filing cases with an api_key, anyone reading the
public-safe state of cases back.  Everything a case goes through is civic.complaints.service."""
