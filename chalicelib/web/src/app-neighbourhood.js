// The residents' app: "Your neighbourhood" (the Neighbourhood Policing Guarantee). Per named area
// the resident follows: its team (public page), its priorities with what was done (support during
// consultation), its meetings ("I'll come"). All read from the public routes; the two writes carry
// the resident token. Also the Guarantee's inbox notices ("you said, we did", meeting reminders).
// Every string goes in as text.
import { $, api, areaName, el, failed, httpsLink, loadNamedAreas, say, state, t, when } from "./app-core.js";

const CONTACT_FIELDS = ["telephone", "mobile", "email", "web", "address", "twitter", "facebook"];

export async function loadNeighbourhood() {
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

export function renderNeighbourhood() {
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
      refusal(error, { 422: "meet_started", 404: "meet_not_yours" });
    }
  });
  return button;
}

// Inbox items of the Guarantee: what was done about a priority, tomorrow's meeting (null: another kind).
export function guaranteeCard(item) {
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
