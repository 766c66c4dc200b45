// The API's fixed value lists (contacts and CAP), so forms work offline. They must equal the
// server's (chalicelib/domain/contact_schemas.py, chalicelib/domain/alerts.py): checked by
// tests/test_team_serving.py.
export const TOPICS = ["antisocial_behaviour", "burglary", "community_event", "domestic_abuse", "drugs",
  "fraud_scams", "hate_crime", "neighbour_dispute", "noise", "reassurance", "road_safety",
  "theft", "vehicle_crime", "violence", "youth", "other"];
export const OUTCOMES = ["advice_given", "information_received", "intelligence_submitted", "referred",
  "crime_reported", "follow_up_planned", "resolved", "no_further_action", "other"];
export const SETTINGS = ["patrol", "community_meeting", "school", "business", "event", "other"];
export const PLATFORMS = ["facebook", "x", "instagram", "nextdoor", "whatsapp", "forum", "email", "webchat", "other"];
export const CATEGORIES = ["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"];
export const SEVERITIES = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
export const URGENCIES = ["Immediate", "Expected", "Future", "Past", "Unknown"];
export const CERTAINTIES = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"];
