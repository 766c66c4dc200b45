// The residents' app: conversations with the neighbourhood team (shown only when the served API
// offers every route they need, read from /v1/openapi.json): start one, read it page by page,
// reply, and escalate one the team has not answered by the time it aims for.
import {
  $, api, conversationTitle, el, failed, hasRoute, loadNamedAreas, officerName, say, state, t, topicLabel, topics, when,
} from "./app-core.js";
import { ratingCard } from "./app-trust.js";

const CONVERSATION_ROUTES = [["/v1/conversations", "post"], ["/v1/subscribers/me/conversations", "get"],
  ["/v1/conversations/{id}", "get"], ["/v1/conversations/{id}/messages", "post"]];
const MESSAGES_PAGE = 50; // the latest messages first; "Earlier messages" reads the page before

export async function loadConversations() {
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

export function showTitle() {
  const conversation = state.conversation;
  $("conv-open-title").textContent = conversationTitle(conversation) + " · " + t("status_" + conversation.status);
  $("conv-respond-by").replaceChildren(respondBy(conversation) || "");
}

let opening = 0; // the latest openConversation: an earlier one finishing late must not replace it

export async function openConversation(id) {
  const mine = ++opening;
  const conversation = await api("GET", conversationPath(id));
  if (mine !== opening) return;
  state.conversation = conversation;
  $("conv-open").hidden = false;
  showTitle();
  $("conv-messages").replaceChildren(...conversation.messages.map(messageItem));
  $("conv-rating").replaceChildren(ratingCard(conversation) || ""); // once, under the latest answer
  showEarlierButton(id, conversation.earlier_cursor);
  $("conv-open-title").focus();
}

export async function startConversation(event) {
  event.preventDefault();
  const body = { id: crypto.randomUUID(), topic: $("conv-topic").value, text: $("conv-text").value, area_id: $("conv-area").value };
  const created = await api("POST", "/v1/conversations", body);
  $("conv-text").value = "";
  say(t("conv_started"));
  await loadConversations();
  await openConversation(created.id);
}

export async function replyConversation(event) {
  event.preventDefault();
  const id = state.conversation.id;
  // state_token: the conversation as this page read it, so the server need not read it again.
  await api("POST", "/v1/conversations/" + encodeURIComponent(id) + "/messages",
    { id: crypto.randomUUID(), text: $("conv-reply-text").value, state_token: state.conversation.state_token });
  $("conv-reply-text").value = "";
  await loadConversations(); // the list shows the new status (a reply makes it `waiting`, reopens a closed one)
  await openConversation(id);
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
