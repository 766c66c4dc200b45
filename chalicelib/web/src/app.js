// The residents' web app (/app/): alerts near a place without signing up; sign-up with Web Push or
// inbox only; areas on a Leaflet map (named areas and a circle, drawn in SVG, tiles optional); the
// inbox (read receipts, replies); conversations with the team (when the API offers them, read from
// /v1/openapi.json); settings; erasure. The resident token is the only credential: it lives in
// IndexedDB (idb-keyval), is sent to this origin only (every call is a same-origin path) and is
// deleted on erasure together with the cached inbox and the push subscription.
"use strict";

const BASE = document.querySelector('meta[name="beatline-base"]').content;
const TILES = document.querySelector('meta[name="beatline-tiles"]').content;
const TILE_ATTRIBUTION = document.querySelector('meta[name="beatline-tile-attribution"]').content;
const EMERGENCY = document.querySelector('meta[name="beatline-emergency"]').content || "999";
const NON_EMERGENCY = document.querySelector('meta[name="beatline-non-emergency"]').content || "101";
const TOKEN_KEY = "beatline.resident-token";
const UI_LANG_KEY = "beatline.ui-lang";
const INBOX_CACHE = "beatline-inbox";
const CATEGORIES = ["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"];
const MAX_AREAS = 10;
// pushManager.subscribe() can wait for ever when no push service answers (no message, no error):
// sign-up gives up after this long, says so and offers the inbox only (state.pushTimeoutMs; tests lower it).
const PUSH_SUBSCRIBE_TIMEOUT_MS = 8000;
const $ = (id) => document.getElementById(id);
const idb = window.idbKeyval;

// "Your neighbourhood" (the Neighbourhood Policing Guarantee): its words, kept apart from the rest.
const HOOD_MESSAGES = {
  en: {
    nav_neighbourhood: "Your neighbourhood", hood_title: "Your neighbourhood",
    hood_help: "The team for each named neighbourhood you follow, its priorities and what was done, and its meetings.",
    hood_none: "You follow no named neighbourhood yet: choose one in My areas.",
    hood_team: "Your team", hood_people: "The people", hood_contact: "Contact",
    hood_priorities: "Priorities", hood_no_priorities: "No priorities yet.",
    hood_meetings: "Meetings", hood_no_meetings: "No meetings planned.",
    prio_proposed: "Proposed", prio_current: "Current", prio_closed: "Closed",
    prio_supporters: "Supporters: ", prio_consultation: "Have your say until ", prio_done: "What was done",
    prio_set: "Set ", prio_support: "Support", prio_supported: "You support this",
    prio_not_open: "This priority is no longer open for support.",
    prio_not_yours: "Follow this neighbourhood in My areas to support its priorities.",
    meet_attend: "I'll come", meet_attending: "You said you'll come", meet_coming: "Coming: ",
    meet_online: "Online: ", meet_started: "This meeting has already started.",
    meet_meeting: "Meeting", meet_surgery: "Surgery", meet_street_meeting: "Street meeting", meet_drop_in: "Drop-in",
    meet_online_type: "Online meeting", meet_other: "Other",
    respond_by: "Your team aims to reply by ", escalate: "Escalate: no answer in time",
    escalate_help: "Your team has not answered by the time it aims for. Escalating tells its supervisors.",
    escalated: "Escalated to the team's supervisors on ",
    inbox_priority_action: "You said, we did", inbox_meeting_reminder: "Meeting tomorrow",
    contact_email: "E-mail", contact_telephone: "Telephone", contact_mobile: "Mobile", contact_web: "Web",
    contact_address: "Address", contact_twitter: "X (Twitter)", contact_facebook: "Facebook",
    rank_constable: "Police Constable", rank_sergeant: "Sergeant", rank_inspector: "Inspector",
    rank_chief_inspector: "Chief Inspector", rank_superintendent: "Superintendent",
    rank_chief_superintendent: "Chief Superintendent", rank_chief_officer: "Chief Officer",
    rank_pcso: "Police Community Support Officer", rank_special: "Special Constable", rank_staff: "Police Staff",
  },
  cy: {
    nav_neighbourhood: "Eich cymdogaeth", hood_title: "Eich cymdogaeth",
    hood_help: "Y tîm ar gyfer pob cymdogaeth a enwir rydych yn ei dilyn, ei blaenoriaethau a'r hyn a wnaed, a'i chyfarfodydd.",
    hood_none: "Nid ydych yn dilyn unrhyw gymdogaeth a enwir eto: dewiswch un yn Fy ardaloedd.",
    hood_team: "Eich tîm", hood_people: "Y bobl", hood_contact: "Cysylltu",
    hood_priorities: "Blaenoriaethau", hood_no_priorities: "Dim blaenoriaethau eto.",
    hood_meetings: "Cyfarfodydd", hood_no_meetings: "Dim cyfarfodydd wedi'u trefnu.",
    prio_proposed: "Arfaethedig", prio_current: "Cyfredol", prio_closed: "Wedi cau",
    prio_supporters: "Cefnogwyr: ", prio_consultation: "Dweud eich dweud tan ", prio_done: "Beth a wnaed",
    prio_set: "Pennwyd ", prio_support: "Cefnogi", prio_supported: "Rydych yn cefnogi hyn",
    prio_not_open: "Nid yw'r flaenoriaeth hon ar agor i'w chefnogi mwyach.",
    prio_not_yours: "Dilynwch y gymdogaeth hon yn Fy ardaloedd i gefnogi ei blaenoriaethau.",
    meet_attend: "Fe ddof i", meet_attending: "Rydych wedi dweud y dewch chi", meet_coming: "Yn dod: ",
    meet_online: "Ar-lein: ", meet_started: "Mae'r cyfarfod hwn eisoes wedi dechrau.",
    meet_meeting: "Cyfarfod", meet_surgery: "Cymhorthfa", meet_street_meeting: "Cyfarfod stryd", meet_drop_in: "Galw heibio",
    meet_online_type: "Cyfarfod ar-lein", meet_other: "Arall",
    respond_by: "Mae eich tîm yn anelu at ateb erbyn ", escalate: "Uwchgyfeirio: dim ateb mewn pryd",
    escalate_help: "Nid yw eich tîm wedi ateb erbyn yr amser y mae'n anelu ato. Mae uwchgyfeirio yn dweud wrth ei oruchwylwyr.",
    escalated: "Uwchgyfeiriwyd at oruchwylwyr y tîm ar ",
    inbox_priority_action: "Dywedoch chi, gwnaethom ni", inbox_meeting_reminder: "Cyfarfod yfory",
    contact_email: "E-bost", contact_telephone: "Ffôn", contact_mobile: "Ffôn symudol", contact_web: "Gwe",
    contact_address: "Cyfeiriad", contact_twitter: "X (Twitter)", contact_facebook: "Facebook",
    rank_constable: "Cwnstabl", rank_sergeant: "Rhingyll", rank_inspector: "Arolygydd",
    rank_chief_inspector: "Prif Arolygydd", rank_superintendent: "Uwch-arolygydd",
    rank_chief_superintendent: "Prif Uwch-arolygydd", rank_chief_officer: "Prif Swyddog",
    rank_pcso: "Swyddog Cymorth Cymunedol yr Heddlu", rank_special: "Cwnstabl Gwirfoddol", rank_staff: "Staff yr Heddlu",
  },
};

const MESSAGES = {
  en: {
    skip: "Skip to content", title: "Beatline: your neighbourhood team", language: "Language",
    nav_nearby: "Alerts nearby", nav_signup: "Sign up", nav_inbox: "Inbox", nav_areas: "My areas",
    nav_conversations: "Talk to the team", nav_prefs: "Settings",
    nearby_title: "Alerts in force near a place",
    nearby_help: "Choose a place on the map (or type its coordinates): we show the police alerts in force there. No sign-up needed.",
    areas_title: "The areas you follow",
    areas_help: "Tick named neighbourhoods (or select them on the map), and/or follow a circle around a point you choose. Up to 10 areas; a circle from 50 m to 20 km.",
    map_label: "Map: select a neighbourhood or a point. The same choices can be made with the controls below.",
    point: "Point", lat: "Latitude", lon: "Longitude", use_point: "Use this point", locate: "Use my location",
    nearby_results: "Alerts here", nearby_none: "No alerts in force at this point.",
    named_areas: "Named neighbourhoods", no_areas: "No named neighbourhoods yet.", circle: "A circle around the point",
    circle_on: "Follow a circle around the chosen point", radius: "Radius", save_areas: "Save my areas",
    areas_saved: "Your areas are saved.", too_many: "At most 10 areas.", pick_point: "Choose a point first (on the map or above).",
    signup_title: "Sign up for alerts",
    signup_help: "We keep only what is needed to reach this device: no name, no e-mail, no phone number. This device keeps its key in its own storage; you can erase everything at any time.",
    channel: "How should alerts reach you?", ch_webpush: "Notifications on this device (Web Push), and the inbox",
    ch_inbox: "Inbox only (open this page to read them)", signup_submit: "Sign up",
    signed_up: "You are signed up. Now choose the areas you want alerts for.",
    push_refused: "Notifications are not allowed on this device: signed up for the inbox only.",
    push_timeout: "Notifications could not be set up: this browser's push service did not answer. You are not signed up yet. Inbox only is now chosen: press Sign up again to get alerts in the inbox.",
    inbox_title: "Your alerts", refresh: "Refresh", inbox_empty: "Nothing yet. Alerts for your areas will appear here.",
    inbox_offline: "Offline: showing the inbox as last loaded.",
    open: "Read", close: "Close", reply: "Reply", send: "Send", reply_sent: "Your reply was sent to the team.",
    continue_conv: "Continue the conversation", instruction: "What to do",
    msg_Update: "Update", msg_Cancel: "Cancelled", msg_Alert: "Alert", team_answer: "Your neighbourhood team answered",
    conv_title: "Talk to your neighbourhood team",
    conv_unavailable: "Not available yet: conversations with the team are coming soon.",
    conv_new: "Start a conversation", conv_area: "About which neighbourhood?", conv_topic: "Topic",
    conv_text: "Your message (up to 1000 characters)", conv_mine: "Your conversations", conv_none: "No conversations yet.",
    conv_started: "Your message was sent to the team.", you: "You", team: "Team", conv_earlier: "Earlier messages",
    guidance: "Not for emergencies: messages are not watched around the clock. If you or someone else is in danger now, or a crime is happening, call {emergency}. To report something that is not an emergency, call {non_emergency}.",
    automatic: "Automatic message",
    status_waiting: "waiting for the team", status_answered: "answered", status_closed: "closed",
    prefs_title: "Settings", pref_lang: "Language of alerts and of this page",
    pref_categories: "Kinds of alert (none ticked: all)", pref_severity: "Least severe alert to send me",
    sev_any: "Any", sev_Minor: "Minor", sev_Moderate: "Moderate", sev_Severe: "Severe", sev_Extreme: "Extreme", sev_Unknown: "Unknown",
    quiet: "Quiet hours (severe and extreme alerts still come through)", quiet_on: "Hold notifications at night",
    quiet_start: "From", quiet_end: "Until", save_prefs: "Save settings", prefs_saved: "Your settings are saved.",
    erase_title: "Erase my data",
    erase_help: "Deletes this device's registration, areas, inbox, messages and replies from Beatline. It cannot be undone.",
    erase: "Erase my data", erase_confirm_title: "Erase everything?",
    erase_confirm: "Your registration, areas, inbox and messages will be deleted, and this page will forget you.",
    keep: "Keep my data", erase_yes: "Erase everything", erased: "Your data has been erased. This page no longer knows you.",
    signed_out: "Your registration has ended: sign up again to get alerts.",
    footer: "Beatline is run by your police force. Map by Leaflet; no tracking.",
    error: "Something went wrong: ", offline: "You are offline.",
    topic_antisocial_behaviour: "Antisocial behaviour", topic_burglary: "Burglary", topic_community_event: "Community event",
    topic_domestic_abuse: "Domestic abuse", topic_drugs: "Drugs", topic_fraud_scams: "Fraud and scams", topic_hate_crime: "Hate crime",
    topic_neighbour_dispute: "Neighbour dispute", topic_noise: "Noise", topic_reassurance: "Reassurance", topic_road_safety: "Road safety",
    topic_theft: "Theft", topic_vehicle_crime: "Vehicle crime", topic_violence: "Violence", topic_youth: "Young people", topic_other: "Other",
    officer: "Officer", about_alert: "About the alert",
    cat_Geo: "Geophysical", cat_Met: "Weather", cat_Safety: "Safety", cat_Security: "Crime and security", cat_Rescue: "Rescue",
    cat_Fire: "Fire", cat_Health: "Health", cat_Env: "Environment", cat_Transport: "Transport", cat_Infra: "Utilities",
    cat_CBRNE: "Hazardous materials", cat_Other: "Other",
    ...HOOD_MESSAGES.en,
  },
  cy: {
    skip: "Neidio i'r cynnwys", title: "Beatline: eich tîm cymdogaeth", language: "Iaith",
    nav_nearby: "Rhybuddion gerllaw", nav_signup: "Cofrestru", nav_inbox: "Mewnflwch", nav_areas: "Fy ardaloedd",
    nav_conversations: "Siarad â'r tîm", nav_prefs: "Gosodiadau",
    nearby_title: "Rhybuddion mewn grym ger lle",
    nearby_help: "Dewiswch le ar y map (neu teipiwch ei gyfesurynnau): dangoswn y rhybuddion heddlu sydd mewn grym yno. Dim angen cofrestru.",
    areas_title: "Yr ardaloedd rydych yn eu dilyn",
    areas_help: "Ticiwch gymdogaethau a enwir (neu dewiswch nhw ar y map), a/neu dilynwch gylch o amgylch pwynt a ddewiswch. Hyd at 10 ardal; cylch o 50 m i 20 km.",
    map_label: "Map: dewiswch gymdogaeth neu bwynt. Gellir gwneud yr un dewisiadau gyda'r rheolyddion isod.",
    point: "Pwynt", lat: "Lledred", lon: "Hydred", use_point: "Defnyddio'r pwynt hwn", locate: "Defnyddio fy lleoliad",
    nearby_results: "Rhybuddion yma", nearby_none: "Dim rhybuddion mewn grym yn y pwynt hwn.",
    named_areas: "Cymdogaethau a enwir", no_areas: "Dim cymdogaethau a enwir eto.", circle: "Cylch o amgylch y pwynt",
    circle_on: "Dilyn cylch o amgylch y pwynt a ddewiswyd", radius: "Radiws", save_areas: "Cadw fy ardaloedd",
    areas_saved: "Mae eich ardaloedd wedi'u cadw.", too_many: "Dim mwy na 10 ardal.", pick_point: "Dewiswch bwynt yn gyntaf (ar y map neu uchod).",
    signup_title: "Cofrestru am rybuddion",
    signup_help: "Dim ond yr hyn sydd ei angen i gyrraedd y ddyfais hon a gadwn: dim enw, dim e-bost, dim rhif ffôn. Mae'r ddyfais hon yn cadw ei hallwedd yn ei storfa ei hun; gallwch ddileu popeth unrhyw bryd.",
    channel: "Sut dylai rhybuddion eich cyrraedd?", ch_webpush: "Hysbysiadau ar y ddyfais hon (Web Push), a'r mewnflwch",
    ch_inbox: "Mewnflwch yn unig (agorwch y dudalen hon i'w darllen)", signup_submit: "Cofrestru",
    signed_up: "Rydych wedi cofrestru. Nawr dewiswch yr ardaloedd yr hoffech rybuddion amdanynt.",
    push_refused: "Ni chaniateir hysbysiadau ar y ddyfais hon: wedi cofrestru ar gyfer y mewnflwch yn unig.",
    push_timeout: "Nid oedd modd trefnu hysbysiadau: ni atebodd gwasanaeth gwthio'r porwr hwn. Nid ydych wedi cofrestru eto. Mae mewnflwch yn unig wedi'i ddewis nawr: pwyswch Cofrestru eto i gael rhybuddion yn y mewnflwch.",
    inbox_title: "Eich rhybuddion", refresh: "Adnewyddu", inbox_empty: "Dim byd eto. Bydd rhybuddion ar gyfer eich ardaloedd yn ymddangos yma.",
    inbox_offline: "All-lein: yn dangos y mewnflwch fel y'i llwythwyd ddiwethaf.",
    open: "Darllen", close: "Cau", reply: "Ateb", send: "Anfon", reply_sent: "Anfonwyd eich ateb at y tîm.",
    continue_conv: "Parhau'r sgwrs", instruction: "Beth i'w wneud",
    msg_Update: "Diweddariad", msg_Cancel: "Wedi'i ganslo", msg_Alert: "Rhybudd", team_answer: "Atebodd eich tîm cymdogaeth",
    conv_title: "Siarad â'ch tîm cymdogaeth",
    conv_unavailable: "Ddim ar gael eto: mae sgyrsiau gyda'r tîm yn dod cyn bo hir.",
    conv_new: "Dechrau sgwrs", conv_area: "Am ba gymdogaeth?", conv_topic: "Pwnc",
    conv_text: "Eich neges (hyd at 1000 nod)", conv_mine: "Eich sgyrsiau", conv_none: "Dim sgyrsiau eto.",
    conv_started: "Anfonwyd eich neges at y tîm.", you: "Chi", team: "Tîm", conv_earlier: "Negeseuon cynharach",
    guidance: "Nid ar gyfer argyfyngau: nid yw negeseuon yn cael eu gwylio drwy'r amser. Os ydych chi neu rywun arall mewn perygl nawr, neu os oes trosedd yn digwydd, ffoniwch {emergency}. I roi gwybod am rywbeth nad yw'n argyfwng, ffoniwch {non_emergency}.",
    automatic: "Neges awtomatig",
    status_waiting: "yn aros am y tîm", status_answered: "wedi'i ateb", status_closed: "ar gau",
    prefs_title: "Gosodiadau", pref_lang: "Iaith y rhybuddion a'r dudalen hon",
    pref_categories: "Mathau o rybudd (dim wedi'u ticio: y cyfan)", pref_severity: "Y rhybudd lleiaf difrifol i'w anfon ataf",
    sev_any: "Unrhyw un", sev_Minor: "Bach", sev_Moderate: "Cymedrol", sev_Severe: "Difrifol", sev_Extreme: "Eithafol", sev_Unknown: "Anhysbys",
    quiet: "Oriau tawel (daw rhybuddion difrifol ac eithafol drwodd o hyd)", quiet_on: "Dal hysbysiadau yn y nos",
    quiet_start: "O", quiet_end: "Tan", save_prefs: "Cadw'r gosodiadau", prefs_saved: "Mae eich gosodiadau wedi'u cadw.",
    erase_title: "Dileu fy nata",
    erase_help: "Yn dileu cofrestriad, ardaloedd, mewnflwch, negeseuon ac atebion y ddyfais hon o Beatline. Ni ellir ei ddadwneud.",
    erase: "Dileu fy nata", erase_confirm_title: "Dileu popeth?",
    erase_confirm: "Bydd eich cofrestriad, ardaloedd, mewnflwch a negeseuon yn cael eu dileu, a bydd y dudalen hon yn eich anghofio.",
    keep: "Cadw fy nata", erase_yes: "Dileu popeth", erased: "Mae eich data wedi'i ddileu. Nid yw'r dudalen hon yn eich adnabod mwyach.",
    signed_out: "Mae eich cofrestriad wedi dod i ben: cofrestrwch eto i gael rhybuddion.",
    footer: "Eich heddlu sy'n rhedeg Beatline. Map gan Leaflet; dim tracio.",
    error: "Aeth rhywbeth o'i le: ", offline: "Rydych all-lein.",
    topic_antisocial_behaviour: "Ymddygiad gwrthgymdeithasol", topic_burglary: "Byrgleriaeth", topic_community_event: "Digwyddiad cymunedol",
    topic_domestic_abuse: "Cam-drin domestig", topic_drugs: "Cyffuriau", topic_fraud_scams: "Twyll a sgamiau", topic_hate_crime: "Trosedd casineb",
    topic_neighbour_dispute: "Anghydfod cymdogion", topic_noise: "Sŵn", topic_reassurance: "Tawelwch meddwl", topic_road_safety: "Diogelwch ffyrdd",
    topic_theft: "Lladrad", topic_vehicle_crime: "Troseddau cerbydau", topic_violence: "Trais", topic_youth: "Pobl ifanc", topic_other: "Arall",
    officer: "Swyddog", about_alert: "Am y rhybudd",
    cat_Geo: "Geoffisegol", cat_Met: "Tywydd", cat_Safety: "Diogelwch", cat_Security: "Troseddu a diogelwch", cat_Rescue: "Achub",
    cat_Fire: "Tân", cat_Health: "Iechyd", cat_Env: "Amgylchedd", cat_Transport: "Trafnidiaeth", cat_Infra: "Cyfleustodau",
    cat_CBRNE: "Deunyddiau peryglus", cat_Other: "Arall",
    ...HOOD_MESSAGES.cy,
  },
};

const state = {
  lang: "en", token: null, me: null, openapi: null, areas: [], selected: new Set(), point: null,
  map: null, areaLayers: new Map(), pointLayer: null, circleLayer: null, view: null, read: new Set(),
  inbox: [], conversation: null, pushTimeoutMs: PUSH_SUBSCRIBE_TIMEOUT_MS, hood: [], areasLoading: null,
};
window.beatlineApp = state; // inspected by the browser tests

// --- text ------------------------------------------------------------------------------------

function t(key) { return (MESSAGES[state.lang] && MESSAGES[state.lang][key]) || MESSAGES.en[key] || key; }

function applyLanguage(lang) {
  state.lang = MESSAGES[lang] ? lang : "en";
  document.documentElement.lang = state.lang;
  $("ui-lang").value = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const guidance = t("guidance").replace("{emergency}", EMERGENCY).replace("{non_emergency}", NON_EMERGENCY);
  for (const el of document.querySelectorAll("[data-guidance]")) el.textContent = guidance;
  fillCategories();
  if (state.view === "inbox") renderInbox(state.inbox);
  if (state.view === "neighbourhood") renderNeighbourhood();
  if (state.view === "conversations" && state.token) loadConversations().then(() => state.conversation && showTitle()).catch(failed);
}

function uiLangOf(tag) { return tag && tag.toLowerCase().startsWith("cy") ? "cy" : "en"; }

function say(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(isError));
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const CY_MONTHS = ["Ion", "Chwef", "Maw", "Ebr", "Mai", "Meh", "Gorff", "Awst", "Medi", "Hyd", "Tach", "Rhag"];

// Dates in the page's language (Intl). A browser without Welsh locale data (Chromium builds ship
// a reduced set) would answer in English: the same layout with Welsh month names instead.
function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const locale = state.lang === "cy" ? "cy-GB" : "en-GB";
  if (state.lang === "cy" && !Intl.DateTimeFormat.supportedLocalesOf([locale]).length) {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "numeric", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(date).map((p) => [p.type, p.value]));
    return parts.day + " " + CY_MONTHS[Number(parts.month) - 1] + " " + parts.year + ", " + parts.hour + ":" + parts.minute;
  }
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

function topicLabel(topic) { return MESSAGES[state.lang]["topic_" + topic] || MESSAGES.en["topic_" + topic] || String(topic).replace(/_/g, " "); }

// "Officer 4F2K" (the display pseudonym the API gives) in the page's language.
function officerName(name) { return name && name.startsWith("Officer ") ? t("officer") + name.slice(7) : (name || t("team")); }

// The text of a {language: text} map in the page's language (same primary language), else the first.
function inLanguage(texts) {
  const entries = Object.entries(texts || {});
  const match = entries.find(([language]) => uiLangOf(language) === state.lang) || entries[0];
  return match ? match[1] : null;
}

// What a conversation is about: the alert's headline (one opened by an alert reply), else area and topic.
function conversationTitle(c) {
  const headline = inLanguage(c.alert_headlines);
  if (headline) return headline;
  const area = state.areas.find((a) => a.id === c.area_id);
  return (c.area_name || (area ? area.name : c.team)) + ": " + topicLabel(c.topic);
}

// An alert copy in the page's language when the copy carries that language's text.
function alertText(alert) {
  const texts = alert.translations || [];
  return texts.find((x) => uiLangOf(x.language) === state.lang) || texts.find((x) => x.language === alert.language) || alert;
}

// --- API (same origin only) -------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    const fields = ((problem && problem.errors) || []).map((e) => e.field + ": " + e.message).join("; ");
    super(((problem && (problem.detail || problem.title)) || "HTTP " + status) + (fields ? " (" + fields + ")" : ""));
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && state.token) {
    await forget();
    say(t("signed_out"), true);
    throw new ApiError(401, null);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  if (response.headers.get("X-Beatline-Offline")) data.offline = true;
  return data;
}

function failed(error) { say(t("error") + error.message, true); }

function hasRoute(path, method) {
  const paths = (state.openapi && state.openapi.paths) || {};
  return Boolean(paths[path] && paths[path][method]);
}

function findEnum(schema, seen) {
  if (!schema || typeof schema !== "object") return null;
  if (Array.isArray(schema.enum)) return schema.enum;
  if (schema.$ref && !seen.has(schema.$ref)) {
    seen.add(schema.$ref);
    const name = schema.$ref.split("/").pop();
    return findEnum(((state.openapi.components || {}).schemas || {})[name], seen);
  }
  for (const part of schema.anyOf || schema.oneOf || []) {
    const found = findEnum(part, seen);
    if (found) return found;
  }
  return null;
}

function topics() {
  const op = ((state.openapi.paths || {})["/v1/conversations"] || {}).post || {};
  const schema = ((((op.requestBody || {}).content || {})["application/json"]) || {}).schema || {};
  const name = (schema.$ref || "").split("/").pop();
  const body = ((state.openapi.components || {}).schemas || {})[name] || schema;
  return findEnum((body.properties || {}).topic, new Set()) || ["other"];
}

// --- views ------------------------------------------------------------------------------------

const VIEWS = ["nearby", "signup", "inbox", "neighbourhood", "areas", "conversations", "prefs"];

async function show(view) {
  state.view = view;
  say("");
  for (const name of VIEWS) $("view-" + name).hidden = name !== view;
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  const withMap = view === "nearby" || view === "areas";
  $("map-panel").hidden = !withMap;
  $("nearby-results").hidden = view !== "nearby";
  $("areas-form").hidden = view !== "areas";
  if (withMap) {
    $("view-" + view).after($("map-panel"));
    ensureMap();
    state.map.invalidateSize();
  }
  const loaders = { inbox: loadInbox, neighbourhood: loadNeighbourhood, areas: loadAreasView, conversations: loadConversations, prefs: loadPrefs };
  delete document.body.dataset.view;
  if (loaders[view]) await loaders[view]().catch(failed);
  // Loaded (the tests wait for it before using the form), unless the resident has moved on to
  // another view meanwhile: a slow load finishing late must not claim the page.
  if (state.view === view) document.body.dataset.view = view;
}

function signedIn(yes) {
  for (const b of document.querySelectorAll("#nav [data-in]")) b.hidden = !yes;
  for (const b of document.querySelectorAll("#nav [data-out]")) b.hidden = yes;
}

// --- map --------------------------------------------------------------------------------------

function ensureMap() {
  if (state.map) return;
  const L = window.L;
  // Leaflet's own attribution control sets innerHTML: ours shows the setting as text.
  state.map = L.map("map", { zoomControl: true, attributionControl: false }).setView([52.4, -3.5], 7);
  if (TILES) {
    L.tileLayer(TILES, { maxZoom: 19, crossOrigin: false }).addTo(state.map);
    if (TILE_ATTRIBUTION) {
      const Attribution = L.Control.extend({ onAdd: () => el("div", { class: "leaflet-control-attribution leaflet-control", text: TILE_ATTRIBUTION }) });
      new Attribution({ position: "bottomright" }).addTo(state.map);
    }
  }
  state.map.on("click", (e) => choosePoint(e.latlng.lat, e.latlng.lng));
  drawAreas();
}

function drawAreas() {
  if (!state.map) return;
  const L = window.L;
  for (const layer of state.areaLayers.values()) layer.remove();
  state.areaLayers.clear();
  const bounds = [];
  for (const area of state.areas) {
    const layer = L.geoJSON(area.geometry, { style: () => areaStyle(area.id) });
    layer.on("click", (e) => {
      if (state.view === "areas") {
        L.DomEvent.stopPropagation(e);
        toggleArea(area.id);
      }
    });
    layer.bindTooltip(el("span", { text: area.name })); // a node: Leaflet sets a string as innerHTML
    layer.addTo(state.map);
    state.areaLayers.set(area.id, layer);
    bounds.push(layer.getBounds());
  }
  if (bounds.length) state.map.fitBounds(bounds.reduce((a, b) => a.extend(b), L.latLngBounds(bounds[0].getSouthWest(), bounds[0].getNorthEast())), { maxZoom: 14 });
}

function areaStyle(id) {
  const on = state.selected.has(id);
  return { color: on ? "#b3261e" : "#0b3d6e", weight: on ? 3 : 2, fillOpacity: on ? 0.35 : 0.1, className: "area area-" + id + (on ? " area-selected" : "") };
}

function toggleArea(id, on) {
  const want = on === undefined ? !state.selected.has(id) : on;
  if (want && state.selected.size + (state.point && $("circle-on").checked ? 1 : 0) >= MAX_AREAS) {
    say(t("too_many"), true);
  } else if (want) {
    state.selected.add(id);
  } else {
    state.selected.delete(id);
  }
  const box = document.querySelector('#area-choices input[value="' + CSS.escape(id) + '"]');
  if (box) box.checked = state.selected.has(id);
  restyle(id);
}

function restyle(id) {
  const layer = state.areaLayers.get(id);
  if (!layer) return;
  const style = areaStyle(id);
  layer.setStyle(style);
  layer.eachLayer((part) => {
    const path = part.getElement && part.getElement();
    if (path) path.setAttribute("class", style.className + " leaflet-interactive");
  });
}

function choosePoint(lat, lon) {
  if (!isFinite(lat) || !isFinite(lon)) return;
  state.point = { lat: Math.round(lat * 1e5) / 1e5, lon: Math.round(lon * 1e5) / 1e5 };
  $("lat").value = state.point.lat;
  $("lon").value = state.point.lon;
  if (state.view === "nearby") nearby().catch(failed);
  if (state.view === "areas") $("circle-on").checked = true;
  drawPoint();
  if (state.circleLayer) state.map.fitBounds(state.circleLayer.getBounds(), { maxZoom: 15 });
  else if (state.map && !state.map.getBounds().contains([state.point.lat, state.point.lon])) state.map.panTo([state.point.lat, state.point.lon]);
}

function drawPoint() {
  const L = window.L;
  if (state.pointLayer) state.pointLayer.remove();
  if (state.circleLayer) state.circleLayer.remove();
  state.pointLayer = state.circleLayer = null;
  if (!state.point || !state.map) return;
  const at = [state.point.lat, state.point.lon];
  state.pointLayer = L.circleMarker(at, { radius: 6, color: "#0b0c0c", fillOpacity: 1, className: "chosen-point" }).addTo(state.map);
  if (state.view === "areas" && $("circle-on").checked) {
    state.circleLayer = L.circle(at, { radius: Number($("radius").value), color: "#b3261e", className: "chosen-circle" }).addTo(state.map);
  }
}

// --- nearby (no sign-up) ----------------------------------------------------------------------

async function nearby() {
  const query = new URLSearchParams({ lat: state.point.lat, lon: state.point.lon });
  const answer = await api("GET", "/v1/public/alerts?" + query.toString());
  const list = $("nearby-list");
  list.replaceChildren(...answer.items.map((a) => alertCard(a, false)));
  if (!answer.items.length) list.append(el("li", { text: t("nearby_none") }));
}

// --- sign-up ----------------------------------------------------------------------------------

class PushTimeout extends Error {}

function withinTime(promise, ms) {
  let timer = null;
  const timeout = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new PushTimeout()), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function webPushChannel() {
  if (!("PushManager" in window) || (await Notification.requestPermission()) !== "granted") return null;
  const subscribe = async () => {
    const key = await api("GET", "/v1/public/webpush-key");
    const registration = await navigator.serviceWorker.ready;
    return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.application_server_key });
  };
  const subscription = await withinTime(subscribe(), state.pushTimeoutMs);
  const json = subscription.toJSON();
  return { type: "webpush", subscription: { endpoint: json.endpoint, keys: json.keys } };
}

function offerInboxOnly() {
  $("ch-inbox").checked = true;
  say(t("push_timeout"), true);
  $("ch-inbox").focus();
}

async function signUp(event) {
  event.preventDefault();
  const button = $("signup-submit");
  button.disabled = true;
  try {
    await register();
  } finally {
    button.disabled = false;
  }
}

async function register() {
  const wantsPush = document.querySelector('input[name="channel"]:checked').value === "webpush";
  let channel = null;
  if (wantsPush) {
    try {
      channel = await webPushChannel();
    } catch (error) {
      if (error instanceof PushTimeout) return offerInboxOnly(); // nothing registered: the resident chooses
      channel = null;
    }
  }
  const refused = wantsPush && !channel;
  channel = channel || { type: "inbox" };
  const door = await doorSignup();
  const registered = await api("POST", "/v1/subscribers", { channel, language: state.lang === "cy" ? "cy" : "en-GB", ...door });
  state.token = registered.token;
  await idb.set(TOKEN_KEY, registered.token);
  signedIn(true);
  await show("areas"); // clears the status line: say what happened after it
  say(t(refused ? "push_refused" : "signed_up"), refused);
}

// --- areas ------------------------------------------------------------------------------------

async function loadNamedAreas() {
  const found = [];
  let cursor = null;
  for (let page = 0; page < 5; page += 1) {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const answer = await api("GET", "/v1/areas?" + query.toString());
    found.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  state.areas = found;
  if (PRESELECTED && !found.some((a) => a.id === PRESELECTED)) state.selected.delete(PRESELECTED); // no such area
  const choices = $("area-choices");
  choices.replaceChildren(...found.map((a) => {
    const id = "area-" + a.id;
    const box = el("input", { type: "checkbox", id, value: a.id });
    box.checked = state.selected.has(a.id);
    box.addEventListener("change", () => toggleArea(a.id, box.checked));
    return el("div", { class: "row" }, box, el("label", { for: id, text: a.name }));
  }));
  if (!found.length) choices.append(el("p", { text: t("no_areas") }));
  $("conv-area").replaceChildren(...found.map((a) => el("option", { value: a.id, text: a.name })));
  drawAreas();
}

async function loadAreasView() {
  state.me = await api("GET", "/v1/subscribers/me");
  state.selected = new Set(state.me.areas.filter((a) => a.area_id).map((a) => a.area_id));
  if (PRESELECTED && !state.me.areas.length && (!state.areas.length || state.areas.some((a) => a.id === PRESELECTED))) state.selected.add(PRESELECTED);
  const circle = state.me.areas.find((a) => !a.area_id && a.shape.type === "Circle");
  if (circle) {
    state.point = { lat: circle.shape.center.lat, lon: circle.shape.center.lon };
    $("radius").value = circle.shape.radius_m;
    $("circle-on").checked = true;
  }
  showRadius();
  for (const box of document.querySelectorAll("#area-choices input")) box.checked = state.selected.has(box.value);
  for (const id of state.areaLayers.keys()) restyle(id);
  drawPoint();
}

function showRadius() {
  const metres = Number($("radius").value);
  $("radius-out").textContent = metres >= 1000 ? (metres / 1000).toFixed(metres % 1000 ? 2 : 0) + " km" : metres + " m";
}

async function saveAreas(event) {
  event.preventDefault();
  const areas = [...state.selected].map((id) => ({ area_id: id }));
  if ($("circle-on").checked) {
    if (!state.point) return say(t("pick_point"), true);
    areas.push({ type: "Circle", center: { lat: state.point.lat, lon: state.point.lon }, radius_m: Number($("radius").value) });
  }
  state.me = await api("PUT", "/v1/subscribers/me/areas", { areas });
  say(t("areas_saved"));
}

// --- inbox ------------------------------------------------------------------------------------

async function loadInbox() {
  const answer = await api("GET", "/v1/subscribers/me/inbox?limit=50");
  state.inbox = answer.items;
  renderInbox(answer.items);
  if (answer.offline) say(t("inbox_offline"));
  if (!document.body.dataset.inboxShown) {
    document.body.dataset.inboxShown = String(Math.round(performance.now()));
    performance.mark("beatline-inbox-rendered");
  }
}

function renderInbox(items) {
  $("inbox-empty").hidden = items.length > 0;
  $("inbox-list").replaceChildren(...items.map((item) => guaranteeCard(item) ||
    (item.kind === "conversation" ? answerCard(item) : alertCard(item, true))));
}

function alertCard(alert, mine) {
  const id = alert.alert_id || alert.id;
  const kind = alert.msg_type || "Alert";
  const card = el("li", { class: "card sev-" + alert.severity + (kind === "Cancel" ? " cancelled" : "") + (mine && !state.read.has(id) ? " unread" : ""), "data-alert": id });
  const badge = el("span", { class: "badge", text: t("msg_" + kind) });
  const text = alertText(alert);
  card.append(el("h3", { lang: text.language || "" }, badge, text.headline));
  card.append(el("p", { class: "meta", text: t("sev_" + alert.severity) + " · " + when(alert.sent_at) }));
  const body = el("div", { class: "body", lang: text.language || "" });
  body.hidden = true;
  body.append(el("p", { text: text.description }));
  if (text.instruction) body.append(el("p", {}, el("strong", { text: t("instruction") + ": " }), text.instruction));
  if (mine && kind !== "Cancel") body.append(replyForm(id));
  const toggle = el("button", { type: "button", class: "secondary", "aria-expanded": "false", text: t("open") });
  toggle.addEventListener("click", () => openAlert(card, body, toggle, id, mine));
  card.append(toggle, body);
  return card;
}

async function openAlert(card, body, toggle, id, mine) {
  const opening = body.hidden;
  body.hidden = !opening;
  toggle.setAttribute("aria-expanded", String(opening));
  toggle.textContent = t(opening ? "close" : "open");
  if (opening && mine && !state.read.has(id)) {
    await api("POST", "/v1/alerts/" + encodeURIComponent(id) + "/read").catch(failed);
    state.read.add(id);
    await idb.set("beatline.read", [...state.read]);
    card.classList.remove("unread");
  }
}

function replyForm(id) {
  const form = el("form", { class: "reply" });
  const fieldId = "reply-" + id;
  const text = el("textarea", { id: fieldId, maxlength: "500", required: "", rows: "2" });
  form.append(el("label", { for: fieldId, text: t("reply") }), text, el("button", { type: "submit", text: t("send") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await api("POST", "/v1/alerts/" + encodeURIComponent(id) + "/responses", { message: text.value });
      text.value = "";
      say(t("reply_sent"));
      if (answer.conversation_id && hasRoute("/v1/conversations/{id}", "get")) form.append(convLink(answer.conversation_id));
    } catch (error) {
      failed(error);
    }
  });
  return form;
}

function convLink(conversationId) {
  const button = el("button", { type: "button", class: "secondary", text: t("continue_conv") });
  button.addEventListener("click", async () => {
    await show("conversations");
    await openConversation(conversationId).catch(failed);
  });
  return button;
}

function answerCard(item) {
  const card = el("li", { class: "card", "data-conversation": item.conversation_id });
  card.append(el("h3", { text: t("team_answer") }));
  if (item.topic) card.append(el("p", { class: "context", text: conversationTitle(item) })); // which conversation
  card.append(el("p", { class: "meta", text: officerName(item.officer) + " · " + when(item.sent_at) }));
  card.append(el("p", { text: item.text }));
  if (hasRoute("/v1/conversations/{id}", "get")) card.append(convLink(item.conversation_id));
  return card;
}

// --- conversations (feature-detected) ---------------------------------------------------------

const CONVERSATION_ROUTES = [["/v1/conversations", "post"], ["/v1/subscribers/me/conversations", "get"],
  ["/v1/conversations/{id}", "get"], ["/v1/conversations/{id}/messages", "post"]];

async function loadConversations() {
  const ready = CONVERSATION_ROUTES.every(([path, method]) => hasRoute(path, method));
  $("conv-unavailable").hidden = ready;
  $("conv-ready").hidden = !ready;
  if (!ready) return;
  if (!state.areas.length) await loadNamedAreas();
  const chosen = $("conv-topic").value;
  $("conv-topic").replaceChildren(...topics().map((topic) => el("option", { value: topic, text: topicLabel(topic) })));
  if (chosen) $("conv-topic").value = chosen;
  const answer = await api("GET", "/v1/subscribers/me/conversations?limit=50");
  const items = answer.items.map((c) => {
    const open = el("button", { type: "button", class: "secondary", text: t("open") });
    open.addEventListener("click", () => openConversation(c.id).catch(failed));
    return el("li", { class: "card", "data-conversation": c.id },
      el("h3", { text: conversationTitle(c) }),
      el("p", { class: "meta", text: t("status_" + c.status) + " · " + when(c.last_message_at) }), respondBy(c), open);
  });
  $("conv-list").replaceChildren(...(items.length ? items : [el("li", { text: t("conv_none") })]));
}

const MESSAGES_PAGE = 50; // the latest messages first; "Earlier messages" reads the page before

function messageItem(m) {
  return el("li", { class: "from-" + m.from },
    el("p", { class: "meta", text: sender(m) + " · " + when(m.sent_at) }),
    el("p", { text: m.text }));
}

function sender(m) {
  if (m.from === "system") return t("automatic"); // the emergency guidance: nobody's answer
  return m.from === "team" ? officerName(m.officer) : t("you");
}

function conversationPath(id, before) {
  return "/v1/conversations/" + encodeURIComponent(id) + "?limit=" + MESSAGES_PAGE +
    (before ? "&before=" + encodeURIComponent(before) : "");
}

function showEarlierButton(id, cursor) {
  const button = $("conv-earlier");
  button.hidden = !cursor;
  button.onclick = cursor ? () => loadEarlier(id, cursor).catch(failed) : null;
}

async function loadEarlier(id, cursor) {
  const page = await api("GET", conversationPath(id, cursor));
  const items = page.messages.map(messageItem);
  $("conv-messages").prepend(...items);
  showEarlierButton(id, page.earlier_cursor);
  if (!page.earlier_cursor && items.length) { // the button is gone: focus goes to the oldest message
    items[0].setAttribute("tabindex", "-1");
    items[0].focus();
  }
}

function showTitle() {
  const conversation = state.conversation;
  $("conv-open-title").textContent = conversationTitle(conversation) + " · " + t("status_" + conversation.status);
  $("conv-respond-by").replaceChildren(respondBy(conversation) || "");
}

async function openConversation(id) {
  const conversation = await api("GET", conversationPath(id));
  state.conversation = conversation;
  $("conv-open").hidden = false;
  showTitle();
  $("conv-messages").replaceChildren(...conversation.messages.map(messageItem));
  showEarlierButton(id, conversation.earlier_cursor);
  $("conv-open-title").focus();
}

async function startConversation(event) {
  event.preventDefault();
  const body = { id: crypto.randomUUID(), topic: $("conv-topic").value, text: $("conv-text").value, area_id: $("conv-area").value };
  const created = await api("POST", "/v1/conversations", body);
  $("conv-text").value = "";
  say(t("conv_started"));
  await loadConversations();
  await openConversation(created.id);
}

async function replyConversation(event) {
  event.preventDefault();
  const id = state.conversation.id;
  // state_token: the conversation as this page read it, so the server need not read it again.
  await api("POST", "/v1/conversations/" + encodeURIComponent(id) + "/messages",
    { id: crypto.randomUUID(), text: $("conv-reply-text").value, state_token: state.conversation.state_token });
  $("conv-reply-text").value = "";
  await loadConversations(); // the list shows the new status (a reply makes it `waiting`, reopens a closed one)
  await openConversation(id);
}

// --- your neighbourhood (the Neighbourhood Policing Guarantee) --------------------------------
// Per named area the resident follows: its team (public page), its priorities with what was done
// (support during consultation), its meetings ("I'll come"). All read from the public routes; the
// two writes carry the resident token. Every string goes in as text.

const CONTACT_FIELDS = ["telephone", "mobile", "email", "web", "address", "twitter", "facebook"];

async function loadNeighbourhood() {
  if (!state.areas.length) await loadNamedAreas();
  state.me = await api("GET", "/v1/subscribers/me");
  const followed = (state.me.areas || []).map((a) => a.area_id).filter(Boolean);
  state.hood = await Promise.all(followed.map(loadOneNeighbourhood));
  renderNeighbourhood();
}

async function loadOneNeighbourhood(areaId) {
  const area = state.areas.find((a) => a.id === areaId) || { id: areaId, name: areaId, team: null };
  const path = "/v1/areas/" + encodeURIComponent(areaId);
  const [team, priorities, events] = await Promise.all([
    area.team ? api("GET", "/v1/teams/" + encodeURIComponent(area.team)).catch(() => null) : null,
    api("GET", path + "/priorities"), api("GET", path + "/events")]);
  return { area, team, priorities: priorities.items, events: events.items };
}

function renderNeighbourhood() {
  $("hood-none").hidden = state.hood.length > 0;
  $("hood-list").replaceChildren(...state.hood.map(neighbourhoodSection));
}

function neighbourhoodSection(hood) {
  const headingId = "hood-" + hood.area.id;
  const section = el("section", { class: "hood", "aria-labelledby": headingId, "data-area": hood.area.id });
  section.append(el("h3", { id: headingId, text: hood.area.name }));
  if (hood.team) section.append(teamBlock(hood.team));
  section.append(el("h4", { text: t("hood_priorities") }));
  const priorities = hood.priorities.filter((p) => p.status !== "closed");
  section.append(listOrNote(priorities.map(priorityCard), "hood_no_priorities", "priorities"));
  section.append(el("h4", { text: t("hood_meetings") }));
  section.append(listOrNote(hood.events.map(meetingCard), "hood_no_meetings", "meetings"));
  return section;
}

function listOrNote(items, emptyKey, kind) {
  return items.length ? el("ul", { class: "cards " + kind }, ...items) : el("p", { class: "note", text: t(emptyKey) });
}

function teamBlock(team) {
  const block = el("div", { class: "team" }, el("h4", { text: t("hood_team") + ": " + team.name }));
  if (team.description) block.append(el("p", { text: team.description }));
  block.append(contactList(team.contact_details));
  if (team.people.length) {
    block.append(el("h5", { text: t("hood_people") }));
    block.append(el("ul", { class: "people" }, ...team.people.map(personItem)));
  }
  return block;
}

function personItem(person) {
  const item = el("li", { class: "person" }, el("p", { class: "name", text: person.name }),
    el("p", { class: "meta", text: t("rank_" + person.rank) }));
  if (person.bio) item.append(el("p", { text: person.bio }));
  item.append(contactList(person.contact_details));
  return item;
}

function contactList(details) {
  const present = CONTACT_FIELDS.filter((field) => details && details[field]);
  if (!present.length) return "";
  return el("dl", { class: "contact" }, ...present.flatMap((field) =>
    [el("dt", { text: t("contact_" + field) }), el("dd", {}, contactValue(field, details[field]))]));
}

// Links only of the shapes the API checked (https web links, e-mail, telephone): text otherwise.
function contactValue(field, value) {
  const text = String(value);
  if (field === "web") return httpsLink(text);
  if (field === "email") return el("a", { href: "mailto:" + text, text });
  if (field === "telephone" || field === "mobile") return el("a", { href: "tel:" + text.replace(/[^0-9+]/g, ""), text });
  return text;
}

function httpsLink(url) {
  const text = String(url);
  return text.startsWith("https://") ? el("a", { href: text, rel: "noopener", text }) : text;
}

function newestFirst(actions) {
  return [...actions].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

function priorityCard(priority) {
  const card = el("li", { class: "card priority", "data-priority": priority.id });
  card.append(el("h5", {}, el("span", { class: "badge", text: t("prio_" + priority.status) }), priority.issue));
  const count = el("span", { class: "supporters", text: String(priority.supporters) });
  const meta = el("p", { class: "meta" }, t("prio_supporters"), count);
  if (priority.set_at) meta.append(" · " + t("prio_set") + when(priority.set_at));
  card.append(meta);
  if (inConsultation(priority)) card.append(el("p", { class: "note", text: t("prio_consultation") + when(priority.consultation_ends) }), supportButton(priority, count));
  if (priority.actions.length) {
    card.append(el("p", { class: "context", text: t("prio_done") }));
    card.append(el("ul", { class: "actions" }, ...newestFirst(priority.actions).map((a) =>
      el("li", {}, el("span", { class: "meta", text: when(a.at) + ": " }), a.text))));
  }
  return card;
}

function inConsultation(priority) {
  return priority.status === "proposed" && new Date(priority.consultation_ends).getTime() > Date.now();
}

function supportButton(priority, count) {
  const button = el("button", { type: "button", class: "secondary", text: t("prio_support") });
  button.addEventListener("click", async () => {
    try {
      const answer = await api("POST", "/v1/priorities/" + encodeURIComponent(priority.id) + "/support");
      priority.supporters = answer.supporters;
      count.textContent = String(answer.supporters);
      button.textContent = t("prio_supported");
      button.setAttribute("aria-pressed", "true");
      say(t("prio_supported"));
    } catch (error) {
      refusal(error, { 422: "prio_not_open", 404: "prio_not_yours" });
    }
  });
  return button;
}

function refusal(error, keys) {
  if (keys[error.status]) say(t(keys[error.status]), true);
  else failed(error);
}

function meetingCard(meeting) {
  const card = el("li", { class: "card meeting", "data-event": meeting.id });
  card.append(el("h5", {}, el("span", { class: "badge", text: meetingType(meeting.type) }), meeting.title));
  card.append(el("p", { class: "meta", text: when(meeting.start) + " – " + when(meeting.end) }));
  if (meeting.address) card.append(el("p", { text: meeting.address }));
  if (meeting.online_url) card.append(el("p", {}, t("meet_online"), httpsLink(meeting.online_url)));
  if (meeting.description) card.append(el("p", { text: meeting.description }));
  const count = el("span", { class: "attending", text: String(meeting.attending) });
  card.append(el("p", { class: "meta" }, t("meet_coming"), count));
  if (new Date(meeting.start).getTime() > Date.now()) card.append(attendButton(meeting, count));
  return card;
}

function meetingType(type) { return t(type === "online" ? "meet_online_type" : "meet_" + type); }

function attendButton(meeting, count) {
  const button = el("button", { type: "button", class: "secondary", text: t("meet_attend") });
  button.addEventListener("click", async () => {
    try {
      const answer = await api("POST", "/v1/events/" + encodeURIComponent(meeting.id) + "/attend");
      meeting.attending = answer.attending;
      count.textContent = String(answer.attending);
      button.textContent = t("meet_attending");
      button.setAttribute("aria-pressed", "true");
      say(t("meet_attending"));
    } catch (error) {
      refusal(error, { 422: "meet_started", 404: "prio_not_yours" });
    }
  });
  return button;
}

// "Your team aims to reply by ...": a conversation waiting for the team carries its `respond_by`;
// past it, unanswered, the resident may escalate (the Guarantee's complaint route).
function respondBy(conversation) {
  if (conversation.status !== "waiting" || !conversation.respond_by) return null;
  const block = el("div", { class: "respond-by" }, el("p", { text: t("respond_by") + when(conversation.respond_by) }));
  if (conversation.escalated_at) block.append(el("p", { class: "escalated", text: t("escalated") + when(conversation.escalated_at) }));
  else if (new Date(conversation.respond_by).getTime() < Date.now()) block.append(el("p", { text: t("escalate_help") }), escalateButton(conversation));
  return block;
}

function escalateButton(conversation) {
  const button = el("button", { type: "button", class: "secondary", text: t("escalate") });
  button.addEventListener("click", async () => {
    try {
      const answer = await api("POST", "/v1/conversations/" + encodeURIComponent(conversation.id) + "/escalate");
      button.replaceWith(el("p", { class: "escalated", text: t("escalated") + when(answer.escalated_at) }));
      say(t("escalated") + when(answer.escalated_at));
    } catch (error) {
      failed(error);
    }
  });
  return button;
}

// Inbox items of the Guarantee: what was done about a priority, tomorrow's meeting (null: another kind).
function guaranteeCard(item) {
  if (item.kind === "priority_action") {
    return el("li", { class: "card", "data-priority": item.priority_id },
      el("h3", { text: t("inbox_priority_action") }), el("p", { class: "context", text: item.issue }),
      el("p", { class: "meta", text: areaName(item.area_id) + " · " + when(item.at) }), el("p", { text: item.text }));
  }
  if (item.kind === "meeting_reminder") {
    const card = el("li", { class: "card", "data-event": item.event_id },
      el("h3", { text: t("inbox_meeting_reminder") }), el("p", { class: "context", text: item.title }),
      el("p", { class: "meta", text: areaName(item.area_id) + " · " + when(item.start) + " – " + when(item.end) }));
    if (item.address) card.append(el("p", { text: item.address }));
    if (item.online_url) card.append(el("p", {}, t("meet_online"), httpsLink(item.online_url)));
    return card;
  }
  return null;
}

function areaName(areaId) {
  const area = state.areas.find((a) => a.id === areaId);
  return area ? area.name : "";
}

// --- settings and erasure ---------------------------------------------------------------------

function fillCategories() {
  const chosen = new Set((state.me && state.me.categories) || []);
  $("pref-categories").replaceChildren(...CATEGORIES.map((c) => {
    const box = el("input", { type: "checkbox", id: "cat-" + c, value: c });
    box.checked = chosen.has(c);
    return el("div", { class: "row" }, box, el("label", { for: "cat-" + c, text: t("cat_" + c) }));
  }));
}

async function loadPrefs() {
  state.me = await api("GET", "/v1/subscribers/me");
  $("pref-lang").value = uiLangOf(state.me.language) === "cy" ? "cy" : "en-GB";
  $("pref-severity").value = state.me.min_severity || "";
  const quiet = state.me.quiet_hours;
  $("quiet-on").checked = Boolean(quiet);
  if (quiet) {
    $("quiet-start").value = quiet.start;
    $("quiet-end").value = quiet.end;
  }
  fillCategories();
}

async function savePrefs(event) {
  event.preventDefault();
  const categories = [...document.querySelectorAll("#pref-categories input:checked")].map((b) => b.value);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "Europe/London";
  const body = {
    language: $("pref-lang").value,
    categories: categories.length ? categories : null,
    min_severity: $("pref-severity").value || null,
    quiet_hours: $("quiet-on").checked ? { start: $("quiet-start").value, end: $("quiet-end").value, tz: zone } : null,
  };
  state.me = await api("PATCH", "/v1/subscribers/me", body);
  await chooseUiLanguage(uiLangOf(body.language));
  say(t("prefs_saved"));
}

async function chooseUiLanguage(lang) {
  applyLanguage(lang);
  await idb.set(UI_LANG_KEY, state.lang);
}

async function erase() {
  const dialog = $("erase-dialog");
  dialog.returnValue = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (dialog.returnValue !== "erase") return;
  await api("DELETE", "/v1/subscribers/me");
  await forget();
  say(t("erased"));
}

// Everything this device kept about the resident: the token, read marks, the cached inbox, the
// push subscription.
async function forget() {
  state.token = null;
  state.me = null;
  state.inbox = [];
  state.read = new Set();
  await idb.del(TOKEN_KEY);
  await idb.del("beatline.read");
  if (window.caches) await caches.delete(INBOX_CACHE);
  const registration = navigator.serviceWorker && (await navigator.serviceWorker.getRegistration(BASE + "/app/"));
  const subscription = registration && registration.pushManager && (await registration.pushManager.getSubscription().catch(() => null));
  if (subscription) await subscription.unsubscribe().catch(() => null);
  $("inbox-list").replaceChildren();
  signedIn(false);
  await show("nearby");
}

// --- start ------------------------------------------------------------------------------------

function wire() {
  for (const button of document.querySelectorAll("#nav button")) button.addEventListener("click", () => show(button.dataset.view));
  $("ui-lang").addEventListener("change", () => chooseUiLanguage($("ui-lang").value));
  $("signup-form").addEventListener("submit", (e) => signUp(e).catch(failed));
  $("areas-form").addEventListener("submit", (e) => saveAreas(e).catch(failed));
  $("radius").addEventListener("input", () => { showRadius(); drawPoint(); });
  $("circle-on").addEventListener("change", drawPoint);
  $("use-point").addEventListener("click", () => choosePoint(Number($("lat").value), Number($("lon").value)));
  $("locate").addEventListener("click", () => navigator.geolocation.getCurrentPosition(
    (p) => choosePoint(p.coords.latitude, p.coords.longitude), (e) => say(t("error") + e.message, true)));
  $("inbox-refresh").addEventListener("click", () => loadInbox().catch(failed));
  $("conv-start").addEventListener("submit", (e) => startConversation(e).catch(failed));
  $("conv-reply").addEventListener("submit", (e) => replyConversation(e).catch(failed));
  $("prefs-form").addEventListener("submit", (e) => savePrefs(e).catch(failed));
  $("erase").addEventListener("click", () => erase().catch(failed));
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener("message", onWorkerMessage);
}

function onWorkerMessage(event) {
  const data = event.data || {};
  if (data.type === "open-alert" && state.token) show("inbox");
  if (data.type === "open-conversation" && state.token) show("conversations").then(() => openConversation(data.id)).catch(failed);
}

async function registerWorker() {
  if (!navigator.serviceWorker) return;
  await navigator.serviceWorker.register(BASE + "/app/sw.js", { scope: BASE + "/app/" });
}

// `?area=<id>&via=team`: the sign-up QR an officer shows at the door (/team/): sign-up first, that
// neighbourhood ticked when the new subscriber chooses their areas, the sign-up counted for its team.
const PRESELECTED = new URLSearchParams(location.search).get("area");
const VIA_TEAM = new URLSearchParams(location.search).get("via") === "team";

async function doorSignup() {
  // The named areas may still be loading when a quick resident signs up: wait for them, so the
  // sign-up is counted for the team whatever the timing.
  if (PRESELECTED && VIA_TEAM && !state.areas.length) await (state.areasLoading || loadNamedAreas()).catch(() => null);
  const known = state.areas.some((a) => a.id === PRESELECTED);
  return PRESELECTED && VIA_TEAM && known ? { signup: { via: "team", area_id: PRESELECTED } } : {};
}

async function start() {
  if (!location.pathname.endsWith("/")) history.replaceState(null, "", location.pathname + "/" + location.hash);
  wire();
  const [token, lang, read] = await Promise.all([idb.get(TOKEN_KEY), idb.get(UI_LANG_KEY), idb.get("beatline.read")]);
  state.token = token || null;
  state.read = new Set(read || []);
  applyLanguage(lang || uiLangOf(navigator.language));
  signedIn(Boolean(state.token));
  registerWorker().catch(() => null);
  const openapi = fetch(BASE + "/v1/openapi.json").then((r) => r.json()).then((doc) => { state.openapi = doc; }).catch(() => null);
  const first = state.token ? (location.hash.startsWith("#conversation=") ? "conversations" : "inbox") : (PRESELECTED ? "signup" : "nearby");
  if (first === "conversations") await openapi;
  await show(first);
  await openapi;
  state.areasLoading = loadNamedAreas();
  state.areasLoading.catch(() => null);
  if (first === "conversations") await openConversation(decodeURIComponent(location.hash.split("=")[1])).catch(failed);
  document.body.dataset.ready = "1";
}

start().catch(failed);
