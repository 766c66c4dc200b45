// The residents' app: residents' trust. Under the team's latest answer (or a close without one),
// once, a one-tap rating: did we answer your question, and how satisfied (the tap on a number
// sends both). In the inbox, the confidence question with one tap per answer. Optional: nothing
// reminds or asks again; a rated answer or an answered question only says thank you.
import { api, el, failed, hasRoute, say, t } from "./app-core.js";

const ANSWERED = ["yes", "partly", "no"];
const CONFIDENCE = ["excellent", "good", "fair", "poor", "very_poor"];
// The answer a resident tapped, per conversation and target: a re-render of the conversation (a
// refresh, a second load finishing) keeps the tap instead of falling back to "yes".
const chosen = new Map();

// What a rating would rate now (as the server decides it): the latest team answer, else a close.
function target(conversation) {
  const answers = conversation.messages.filter((m) => m.from === "team");
  if (answers.length) return "answer:" + answers[answers.length - 1].id;
  return conversation.status === "closed" ? "close:" + conversation.last_message_at : null;
}

export function ratingCard(conversation) {
  const aim = target(conversation);
  if (!aim || !hasRoute("/v1/conversations/{id}/rating", "post")) return null;
  if ((conversation.ratings || []).some((r) => r.target === aim)) return el("p", { class: "rated", text: t("rate_thanks") });
  const key = conversation.id + "|" + aim;
  const picked = chosen.get(key) || "yes";
  const card = el("form", { class: "rating", "aria-labelledby": "rate-title", "data-answered": picked });
  card.append(el("h3", { id: "rate-title", text: t("rate_title") }));
  const answers = el("div", { role: "group", "aria-label": t("rate_answered") }, el("p", { text: t("rate_answered") }));
  for (const value of ANSWERED) {
    const button = el("button", { type: "button", class: "secondary", "aria-pressed": String(value === picked),
      "data-answered": value, text: t("rate_" + value) });
    button.addEventListener("click", () => {
      card.dataset.answered = value; // the choice lives on the card (what a tap on a number sends)
      chosen.set(key, value);
      answers.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    });
    answers.append(button);
  }
  const stars = el("div", { role: "group", "aria-label": t("rate_satisfied") }, el("p", { text: t("rate_satisfied") }));
  for (let score = 1; score <= 5; score += 1) {
    const button = el("button", { type: "button", "data-satisfaction": String(score), "aria-label": t("rate_score", { n: score }),
      text: String(score) });
    button.addEventListener("click", () => sendRating(card, conversation.id, card.dataset.answered, score));
    stars.append(button);
  }
  card.append(answers, stars, el("p", { class: "meta", text: t("rate_help") }));
  return card;
}

async function sendRating(card, id, answered, satisfaction) {
  try {
    await api("POST", "/v1/conversations/" + encodeURIComponent(id) + "/rating", { answered, satisfaction });
  } catch (error) {
    if (error.status !== 409) return failed(error); // 409: rated already (another device): thanks all the same
  }
  card.replaceWith(el("p", { class: "rated", text: t("rate_thanks") }));
  say(t("rate_thanks"));
}

export function pulseCard(item) {
  if (item.kind !== "pulse") return null;
  const card = el("li", { class: "card pulse", "data-pulse": item.pulse_id });
  card.append(el("h3", { text: t("pulse_title") }), el("p", { class: "context", text: t("pulse_question") }));
  if (item.answered) {
    card.append(el("p", { class: "rated", text: t("pulse_thanks") }));
    return card;
  }
  const choices = el("div", { role: "group", "aria-label": t("pulse_question") });
  for (const value of CONFIDENCE) {
    const button = el("button", { type: "button", class: "secondary", "data-answer": value, text: t("pulse_" + value) });
    button.addEventListener("click", () => sendAnswer(choices, item, value));
    choices.append(button);
  }
  card.append(choices, el("p", { class: "meta", text: t("pulse_help") }));
  return card;
}

async function sendAnswer(choices, item, answer) {
  try {
    await api("POST", "/v1/pulses/" + encodeURIComponent(item.pulse_id) + "/answers", { answer });
  } catch (error) {
    if (error.status !== 409) return failed(error); // 409: answered already (another device)
  }
  item.answered = true; // the inbox as loaded says so too (a re-render in another language)
  choices.replaceWith(el("p", { class: "rated", text: t("pulse_thanks") }));
  say(t("pulse_thanks"));
}
