// The residents' app: alerts. Alerts in force near a place (no sign-up), and the inbox: alert
// cards (read receipts, replies), the team's answers, the Guarantee's notices (their cards are
// made by app-neighbourhood.js) and the confidence question (app-trust.js).
import {
  $, alertText, api, conversationTitle, ctx, el, failed, hasRoute, kv, officerName, READ_KEY, say, state, t, when,
} from "./app-core.js";
import { openConversation } from "./app-conversations.js";
import { guaranteeCard } from "./app-neighbourhood.js";
import { pulseCard } from "./app-trust.js";

export async function nearby() {
  const search = new URLSearchParams({ lat: state.point.lat, lon: state.point.lon });
  const answer = await api("GET", "/v1/public/alerts?" + search.toString());
  const list = $("nearby-list");
  list.replaceChildren(...answer.items.map((a) => alertCard(a, false)));
  if (!answer.items.length) list.append(el("li", { text: t("nearby_none") }));
}

export async function loadInbox() {
  const answer = await api("GET", "/v1/subscribers/me/inbox?limit=50");
  state.inbox = answer.items;
  renderInbox(answer.items);
  if (answer.offline) say(t("inbox_offline"));
  if (!document.body.dataset.inboxShown) {
    document.body.dataset.inboxShown = String(Math.round(performance.now()));
    performance.mark("beatline-inbox-rendered");
  }
}

export function renderInbox(items) {
  $("inbox-empty").hidden = items.length > 0;
  $("inbox-list").replaceChildren(...items.map((item) => guaranteeCard(item) || pulseCard(item) ||
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
    await kv.set(READ_KEY, [...state.read]);
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
    await ctx.show("conversations");
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
