// The dashboard's labels in English: the API's codes as people read them (topics as the residents'
// app names them, chalicelib/domain/conversations.TOPIC_LABELS; checked by tests/test_dashboard_serving.py).
export default {
  "topic.antisocial_behaviour": "Antisocial behaviour", "topic.burglary": "Burglary", "topic.community_event": "Community event",
  "topic.domestic_abuse": "Domestic abuse", "topic.drugs": "Drugs", "topic.fraud_scams": "Fraud and scams",
  "topic.hate_crime": "Hate crime", "topic.neighbour_dispute": "Neighbour dispute", "topic.noise": "Noise",
  "topic.reassurance": "Reassurance", "topic.road_safety": "Road safety", "topic.theft": "Theft",
  "topic.vehicle_crime": "Vehicle crime", "topic.violence": "Violence", "topic.youth": "Young people", "topic.other": "Other",
  "rank.constable": "Constable", "rank.sergeant": "Sergeant", "rank.inspector": "Inspector",
  "rank.chief_inspector": "Chief inspector", "rank.superintendent": "Superintendent",
  "rank.chief_superintendent": "Chief superintendent", "rank.chief_officer": "Chief officer", "rank.pcso": "PCSO",
  "rank.special": "Special constable", "rank.staff": "Police staff", "rank.unknown": "Rank not known",
  "role.officer": "Officer", "role.supervisor": "Supervisor",
};
