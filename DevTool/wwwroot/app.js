// WonderQ DevTool dashboard. Talks only to the DevTool's own origin. Every piece of data from the broker is put on
// the page with textContent, never as HTML: message bodies are whatever anyone sent.
"use strict";

(() => {
  // The DevTool's Dashboard settings (GET /dashboard/settings); these are its defaults, used only should that fail.
  const settings = {
    refresh_interval_ms: 1000,
    // Longer than the DevTool waits for the broker, so an outage arrives as its 503 naming the broker.
    request_timeout_ms: 8000,
    stale_after_ms: 3000,
    // A body is shown up to this many characters until asked for in full.
    preview_characters: 2000,
    // The list lays out no more queue rows than this; its filter finds the others.
    max_queue_rows: 1000,
    // The DevTool's Limits, which its forms offer no more than.
    max_queue_name_length: 80,
    default_peek_size: 10,
    max_peek_size: 100,
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    banner: $("banner"),
    bannerTitle: $("banner-title"),
    bannerDetail: $("banner-detail"),
    brokerBack: $("broker-back"),
    updated: $("updated"),
    freshness: $("freshness"),
    messagesPanel: $("messages-panel"),
    queues: $("queues"),
    queuesLegend: $("queues-legend"),
    queueRows: $("queue-rows"),
    queueTools: $("queue-tools"),
    queueFilter: $("queue-filter"),
    queueCount: $("queue-count"),
    noQueues: $("no-queues"),
    createForm: $("create-queue"),
    createName: $("new-queue-name"),
    createStatus: $("create-status"),
    sendForm: $("send-message"),
    sendQueue: $("send-queue"),
    sendBody: $("send-body"),
    sendStatus: $("send-status"),
    messagesHeading: $("messages-heading"),
    messagesHint: $("messages-hint"),
    messagesStatus: $("messages-status"),
    messages: $("messages"),
    messagesLegend: $("messages-legend"),
    messageRows: $("message-rows"),
    size: $("size"),
    confirm: $("confirm-delete"),
    confirmAsk: $("confirm-ask"),
    confirmName: $("confirm-name"),
    confirmEnd: $("confirm-end"),
    confirmWhat: $("confirm-what"),
    confirmStatus: $("confirm-status"),
    confirmCancel: $("confirm-cancel"),
    confirmButton: $("confirm-button"),
  };

  const state = {
    queues: [],
    queuesLoaded: false, // a list has been answered at least once
    queuesProblem: null, // the ApiError the last request for the list met, until one is answered
    selected: null, // queue name
    lastSuccess: null, // Date of the last good answer
    lastSuccessAt: 0, // performance.now() then: its age is not to follow the wall clock's steps
    pendingDelete: null,
    // The id of the queue the delete dialog asks about, as it opened: a queue deleted and created again under its name
    // meanwhile, between two refreshes, is another queue, which a delete by name would have taken instead.
    pendingDeleteId: null,
    deleteGone: false, // the delete dialog's queue was found gone: deleted elsewhere since the dialog opened, or before
    deleteOpener: null, // what had the focus as the delete dialog opened, and the place of its queue's row: { from, at }
    peek: null, // the last messages shown: { path, tag, messages }
    mustChoose: false, // the queue chosen to send to was deleted: ask until the user picks another
    choices: null, // the send form's queue names as last drawn, one a line
    queuesText: null, // the list's answer as last drawn, to skip one that is the same
    listed: [], // the queues the list lays out: those the filter matches, up to max_queue_rows of them
    sent: null, // the message the send form last sent: { id, queue, queueId, queues, messages (tickets), gone }
    peeked: null, // the open queue's messages as last shown: { queue, size, messages, ticket }
    opening: null, // the queue opened whose first answer is still to be announced
  };

  // An action's refresh can overlap the poll's, and their answers can come back in either order: each kind of answer is
  // shown only when it was asked for after the one on the page, or an older answer would put back what just changed.
  const asked = { queues: 0, messages: 0, refresh: 0 };
  const shown = { queues: 0, messages: 0, refresh: 0 };
  const newest = (kind, ticket) => (ticket > shown[kind] ? ((shown[kind] = ticket), true) : false);

  // ---- talking to the DevTool ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `The DevTool answered ${status}.`);
      this.status = status;
      this.problem = problem;
    }
  }

  /** The DevTool's answer, or an ApiError for none or a failure; a 304 to a conditional request is an answer. */
  async function send(method, path, body, headers = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), settings.request_timeout_ms);
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: body === undefined ? { Accept: "application/json", ...headers } : { Accept: "application/json", "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, { title: "The DevTool is not answering.", detail: "Is the DevTool still running?" });
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok && response.status !== 304) {
      let problem = null;
      try {
        problem = await response.json();
      } catch {
        problem = null;
      }
      throw new ApiError(response.status, problem);
    }
    return response;
  }

  async function api(method, path, body) {
    const response = await send(method, path, body);
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  /** True for the failures that mean "cannot reach the broker" rather than "the broker said no". */
  function isOutage(error) {
    return error instanceof ApiError && (error.status === 0 || error.status === 502 || error.status === 503 || error.status === 504);
  }

  // ---- banner and freshness -----------------------------------------------------------------------------------

  function showOutage(error) {
    const problem = error.problem || {};
    // Only what changed: the banner is an alert, and rewriting it on every poll would announce it every second.
    setText(el.bannerTitle, problem.title || "The broker is unreachable.");
    setText(el.bannerDetail, problem.detail || "");
    // Emptied, so that the next return is a change to the status and is announced again.
    setText(el.brokerBack, "");
    el.banner.hidden = false;
    document.body.classList.add("offline");
  }

  function clearOutage() {
    // The banner's going is seen, not heard: a screen reader that announced the outage would never learn of its end.
    if (!el.banner.hidden) setText(el.brokerBack, "The broker answers again.");
    el.banner.hidden = true;
    document.body.classList.remove("offline");
  }

  const two = (n) => String(n).padStart(2, "0");
  const clock = (d) => `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;

  function renderFreshness() {
    if (!state.lastSuccess) {
      el.updated.textContent = el.banner.hidden ? "connecting…" : "no data yet";
      el.freshness.classList.add("stale");
      return;
    }
    const age = performance.now() - state.lastSuccessAt;
    const stale = age > settings.stale_after_ms;
    el.updated.textContent = stale
      ? `updated ${clock(state.lastSuccess)} · ${Math.round(age / 1000)} s ago`
      : `updated ${clock(state.lastSuccess)}`;
    el.freshness.classList.toggle("stale", stale);
    el.freshness.title = `Last fetched ${state.lastSuccess.toISOString()}`;
  }

  // ---- queues -------------------------------------------------------------------------------------------------

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  /** Sets text only when it changed, so a selection or focus inside the table survives the refresh. */
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  /**
   * Updates a table body in place, one row per item by key: rows are created once, then only their changing cells are
   * touched. Rebuilding every second would drop the reader's text selection and the keyboard focus.
   * `fallback`: what takes the focus when it was in a row that is gone and the row now in its place has no button, or
   * no row is left.
   */
  function syncRows(tbody, items, key, create, update, fallback = null) {
    const existing = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
    const rows = items.map((item) => {
      const k = key(item);
      let tr = existing.get(k);
      if (tr) {
        existing.delete(k);
      } else {
        tr = create(item);
        tr.dataset.key = k;
      }
      update(tr, item);
      return tr;
    });
    const gone = [...existing.values()].find((tr) => tr.contains(document.activeElement));
    const lostAt = gone ? [...tbody.children].indexOf(gone) : -1;
    for (const stale of existing.values()) stale.remove();
    // A cursor, not tbody.children[i]: each insertion resets Chromium's index into that live list, so looking rows up
    // by place walked the table from its top for each new row, and a first list of 40,000 queues took 4 s here alone.
    let at = tbody.firstElementChild;
    for (const tr of rows) {
      if (tr === at) at = at.nextElementSibling;
      else tbody.insertBefore(tr, at);
    }
    // A row removed with the focus in it (a queue deleted from its own Delete button, to which the dialog gives the
    // focus back) would leave a keyboard user at the top of the page: the row now in its place takes it.
    if (lostAt >= 0) {
      const next = (rows.length > 0 && rows[Math.min(lostAt, rows.length - 1)].querySelector("button")) || fallback;
      if (next) next.focus();
    }
  }

  // Each queue row's changing cells, kept as the row is made: looked up in the row, they cost 10,000 queues five
  // querySelector calls a row on every refresh.
  const queueCells = new WeakMap();

  function createQueueRow(q) {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.name;

    const nameCell = document.createElement("td");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link queue-name";
    open.textContent = q.name;
    open.title = `Show the oldest messages of ${q.name}`;
    open.addEventListener("click", () => select(q.name));
    nameCell.appendChild(open);
    tr.appendChild(nameCell);

    const cells = {
      open,
      id: tr.appendChild(cell("", "num col-id")),
      size: tr.appendChild(cell("", "num queue-size")),
      retrievable: tr.appendChild(cell("", "num retrievable-size")),
      inFlight: tr.appendChild(cell("", "num in-flight-size")),
    };
    queueCells.set(tr, cells);

    const actions = document.createElement("td");
    actions.className = "actions";
    const del = document.createElement("button");
    del.type = "button";
    del.className = "danger small delete-queue";
    del.textContent = "Delete";
    del.setAttribute("aria-label", `Delete queue ${q.name}`);
    del.addEventListener("click", () => askDelete(q.name));
    actions.appendChild(del);
    tr.appendChild(actions);

    // A click anywhere on the row opens the queue, except on a button.
    tr.addEventListener("click", (event) => {
      if (!event.target.closest("button")) select(q.name);
    });
    return tr;
  }

  function updateQueueRow(tr, q) {
    const cells = queueCells.get(tr);
    markSelected(tr, q.name === state.selected);
    setText(cells.id, String(q.id));
    setText(cells.size, String(q.queue_size));
    setText(cells.retrievable, String(q.retrievable_size));
    setText(cells.inFlight, String(q.in_flight_size));
  }

  // Shown by colour, and said to assistive technology on the row's open button.
  function markSelected(tr, selected) {
    const cells = queueCells.get(tr);
    if (cells.selected === selected) return;
    cells.selected = selected;
    tr.classList.toggle("selected", selected);
    if (selected) cells.open.setAttribute("aria-current", "true");
    else cells.open.removeAttribute("aria-current");
  }

  function renderQueues() {
    renderQueueRows();
    renderQueueChoices();
    renderConfirmWhat();
  }

  /**
   * Lays out the queues whose name contains the filter, the first `max_queue_rows` of them by id and the open one
   * wherever it is: every row of 100,000 queues took the tab a minute and 7 GB to lay out, and 10,000 took 5–6 s.
   */
  function renderQueueRows() {
    const typed = el.queueFilter.value.trim();
    const matches = nameFilter();
    const matching = typed ? state.queues.filter((q) => matches(q.name)) : state.queues;
    const max = settings.max_queue_rows;
    const listed = matching.length <= max ? matching : matching.filter((q, i) => i < max || q.name === state.selected);
    state.listed = listed;
    // Keyed by id as well as name: a queue deleted and created again under its name is a new row.
    syncRows(el.queueRows, listed, (q) => `${q.id}:${q.name}`, createQueueRow, updateQueueRow, el.createName);
    // As the messages' table: without a row, a header over nothing reads as a list still to come. The line below or the
    // count above says why there is none.
    el.queues.hidden = listed.length === 0;
    el.queuesLegend.hidden = el.queues.hidden;
    renderNoQueues();
    // Its box hidden with the focus in it (the filter cleared when no queue is left) would leave a keyboard user at the
    // top of the page: the create form takes the focus, as it does when the last row goes with it.
    const noTools = state.queues.length === 0 && !typed;
    if (noTools && el.queueTools.contains(document.activeElement)) el.createName.focus();
    el.queueTools.hidden = noTools;
    setText(el.queueCount, queueCount(typed, matching.length, max, listed.length > max ? state.selected : null));
  }

  /** Whether a queue name contains the filter as typed now, in any case; read once, as it is asked of every queue. */
  function nameFilter() {
    const filter = el.queueFilter.value.trim().toLowerCase();
    return (name) => name.toLowerCase().includes(filter);
  }

  /**
   * How many queues there are, how many the filter matches, and whether the list shows them all. `open`: the open
   * queue laid out after the first rows, named because "the first 10" over eleven rows, the last out of order, reads
   * as a mistake.
   */
  function queueCount(typed, matching, max, open) {
    const total = state.queues.length;
    const n = (x) => x.toLocaleString("en");
    const queues = `${n(total)} queue${total === 1 ? "" : "s"}`;
    const andOpen = open ? `, and ${open}, which is open` : "";
    if (!typed) return total <= max ? queues : `The first ${n(max)} of ${queues} by id${andOpen}: filter by name for the others.`;
    if (matching === 0) return `No queue name contains “${typed}”.`;
    if (matching <= max) return `${n(matching)} of ${queues} ${matching === 1 ? "matches" : "match"}.`;
    return `The first ${n(max)} by id of the ${n(matching)} queues whose names contain “${typed}”${andOpen}.`;
  }

  /**
   * The send form offers the queues the list shows, and the one chosen wherever it is: an option for each of 100,000
   * queues took the tab 2.6 s and 350 MB more to show.
   */
  function renderQueueChoices() {
    const previous = el.sendQueue.value || state.selected;
    const previousExists = !!previous && state.queues.some((q) => q.name === previous);
    const offered = state.listed.map((q) => q.name);
    if (previousExists && !offered.includes(previous)) offered.push(previous);
    // Rebuilt only when the choices change, so an open drop-down is not reset every second.
    const names = state.queues.length > 0 ? offered.join("\n") : noQueuesChoice();
    if (state.choices === names) return;
    state.choices = names;
    const options = offered.map((name) => {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      return option;
    });
    if (previous && state.queues.length > 0 && !previousExists) state.mustChoose = true;
    if (options.length === 0) {
      // Alone, though the queue chosen is gone: with "choose a queue" over it, there were two ways of saying "none".
      const none = document.createElement("option");
      none.value = "";
      none.textContent = state.queues.length > 0 ? "no queue matches the filter" : names;
      options.push(none);
    } else if (state.mustChoose) {
      // The queue chosen is gone: ask again, however often the list changes after, rather than send the next message
      // to whichever queue comes first.
      const choose = document.createElement("option");
      choose.value = "";
      choose.textContent = "choose a queue";
      options.unshift(choose);
    }
    el.sendQueue.replaceChildren(...options);
    el.sendQueue.value = !state.mustChoose && previousExists ? previous : options[0].value;
  }

  /** What the send form offers with no queue to send to: the list may be empty, not answered yet, or refused. */
  function noQueuesChoice() {
    const failure = queuesFailure();
    if (failure) return `could not load the queues: ${failure}`;
    return state.queuesLoaded ? "create a queue first" : "loading the queues…";
  }

  /** Why the list is not answered, as "the broker is unreachable", for the send form and the list to say; else null. */
  function queuesFailure() {
    const problem = state.queuesProblem;
    if (!problem) return null;
    const why = (problem.problem && problem.problem.title) || problem.message;
    return `${why.charAt(0).toLowerCase()}${why.slice(1).replace(/\.$/, "")}`;
  }

  /**
   * The line in the list's place while it has no queue, saying what the send form says: none yet, or the list not
   * answered yet or refused. A list answered before stays on screen instead, marked stale, while the broker is away.
   */
  function renderNoQueues() {
    el.noQueues.hidden = state.queues.length > 0;
    if (el.noQueues.hidden) return;
    const failure = queuesFailure();
    const text = failure ? `Could not load the queues: ${failure}.` : state.queuesLoaded ? "No queues yet. Create one below." : "Loading the queues…";
    setText(el.noQueues, text);
  }

  /** A note in place of the message table, whose rows go with it: a hidden table's stale rows could show again. */
  function showMessagesHint(text) {
    if (el.messageRows.contains(document.activeElement)) el.messagesHeading.focus();
    el.messageRows.replaceChildren();
    el.messages.hidden = true;
    el.messagesLegend.hidden = true;
    el.messagesHint.hidden = false;
    el.messagesHint.textContent = text;
  }

  function select(name) {
    if (name !== state.selected) {
      // Nothing of the queue open before under this heading while the new one's messages load.
      showMessagesHint(`Loading the messages of ${name}…`);
    }
    state.selected = name;
    // Emptied, so that opening the same queue again is a change to the status, and is announced again.
    state.opening = name;
    setText(el.messagesStatus, "");
    // Laid out and offered even when it is past the rows the list shows (a queue just created is last).
    renderQueues();
    if (state.queues.some((q) => q.name === name)) {
      el.sendQueue.value = name;
      state.mustChoose = false;
    }
    // The list scrolls in a box of its own: a queue selected out of its sight (one just created is last) is shown.
    for (const tr of el.queueRows.children) {
      if (tr.dataset.queue === name) tr.scrollIntoView({ block: "nearest" });
    }
    el.messagesHeading.textContent = `Messages in ${name}`;
    refreshMessages().catch(() => {});
    // Clicked far down a long list, the messages would otherwise appear out of sight, above or below.
    const top = el.messagesPanel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 80) el.messagesPanel.scrollIntoView({ block: "start" });
  }

  // ---- messages -----------------------------------------------------------------------------------------------

  /** Local wall-clock time with milliseconds, the date only when it is not today; the exact UTC value is the tooltip. */
  function setTime(td, iso) {
    if (!iso) {
      setText(td, "—");
      td.title = "never consumed";
      return;
    }
    const d = new Date(iso);
    const sameDay = d.toDateString() === new Date().toDateString();
    const date = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} `;
    setText(td, `${sameDay ? "" : date}${clock(d)}.${String(d.getMilliseconds()).padStart(3, "0")}`);
    td.title = iso;
  }

  function labelled(td, label) {
    td.dataset.label = label; // shown as a caption when the table folds into cards on a narrow screen
    return td;
  }

  /**
   * The first `limit` characters of a longer body, else null. Counted as the button counts them, not in UTF-16 units,
   * in which a body of 1,500 emoji was cut at 1,000 of them under a limit of 2,000 characters; and never through a
   * surrogate pair, which would show as a broken character.
   */
  function previewOf(body, limit) {
    if (body.length <= limit) return null; // never more characters than UTF-16 units
    let units = 0;
    let characters = 0;
    for (const character of body) {
      if (characters === limit) return body.slice(0, units);
      units += character.length;
      characters += 1;
    }
    return null;
  }

  // What draws nothing: white space, control characters, those Unicode says to leave unseen (U+200B zero width space,
  // U+00AD soft hyphen, U+FEFF, the direction marks, U+3164 Hangul filler...), and U+2800, the blank Braille pattern.
  const invisible = /^[\s\p{Cc}\p{Default_Ignorable_Code_Point}\u2800]*$/u;
  const whiteSpace = /^\s*$/;
  const maxCodePointsShown = 12;

  /**
   * For a body that would show as nothing, what it is made of, its code points in runs ("U+0020 ×3 U+000A"): a count
   * alone told neither "   " from "\n\n\n" nor a zero width space from a soft hyphen. Null for a body that shows.
   */
  function blankBody(body) {
    if (body.length === 0) return "(empty)";
    if (!invisible.test(body)) return null;
    const runs = [];
    let characters = 0;
    for (const character of body) {
      characters += 1;
      const code = `U+${character.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
      const last = runs[runs.length - 1];
      if (last && last.code === code) last.count += 1;
      else runs.push({ code, count: 1 });
    }
    const shown = runs.slice(0, maxCodePointsShown).map((r) => (r.count === 1 ? r.code : `${r.code} ×${r.count.toLocaleString("en")}`));
    const more = runs.length > maxCodePointsShown ? ` … ${characters.toLocaleString("en")} characters in all` : "";
    const what = whiteSpace.test(body) ? "whitespace only" : "invisible characters only";
    return `(${what}: ${shown.join(" ")}${more})`;
  }

  function createMessageRow(m) {
    const tr = document.createElement("tr");
    tr.dataset.id = String(m.id);
    tr.appendChild(labelled(cell(String(m.id), "num"), "Id"));
    const body = document.createElement("td");
    body.className = "body";
    const text = document.createElement("div");
    text.className = "body-text";
    const pre = document.createElement("pre");
    text.appendChild(pre);
    body.appendChild(text);
    const start = previewOf(m.body, settings.preview_characters);
    if (start === null) {
      pre.textContent = m.body; // text, never HTML
    } else {
      pre.textContent = `${start}…`;
      const characters = m.body.length - (m.body.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g) || []).length;
      const more = document.createElement("button");
      more.type = "button";
      more.className = "link show-all";
      const preview = pre.textContent;
      const showAll = `Show all ${characters.toLocaleString("en")} characters`;
      more.textContent = showAll;
      more.setAttribute("aria-expanded", "false");
      more.addEventListener("click", () => {
        const expand = more.getAttribute("aria-expanded") === "false";
        pre.textContent = expand ? m.body : preview;
        pre.classList.toggle("expanded", expand);
        more.textContent = expand ? "Show less" : showAll;
        more.setAttribute("aria-expanded", String(expand));
      });
      text.appendChild(more);
    }
    const blank = blankBody(m.body);
    if (blank) {
      // A body of spaces, line breaks or characters that draw nothing would show as an empty cell, as if it had none.
      const hint = document.createElement("span");
      hint.className = "hint blank-body";
      hint.textContent = blank;
      text.appendChild(hint);
    }
    tr.appendChild(labelled(body, "Body"));
    tr.appendChild(labelled(cell("", "time created"), "Created"));
    tr.appendChild(labelled(cell("", "time retrievable"), "Retrievable at"));
    tr.appendChild(labelled(cell("", "num receive-count"), "Received"));
    const stateCell = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge";
    stateCell.appendChild(badge);
    tr.appendChild(labelled(stateCell, "State"));
    return tr;
  }

  function updateMessageRow(tr, m) {
    const inFlight = m.retrievable_at !== null && Date.parse(m.retrievable_at) > Date.now();
    setTime(tr.querySelector(".created"), m.created_at);
    setTime(tr.querySelector(".retrievable"), m.retrievable_at);
    setText(tr.querySelector(".receive-count"), String(m.receive_count));
    const badge = tr.querySelector(".badge");
    badge.className = inFlight ? "badge in-flight" : "badge ready";
    setText(badge, inFlight ? "in flight" : "ready");
  }

  function renderMessages(messages) {
    // Keyed by creation time as well as id: a database deleted and started afresh gives its ids out again.
    // A message consumed as it is read (its Show all button focused) goes with the focus: the heading over the rest takes
    // it, as most rows have no button, and the next Tab goes on into the messages rather than from the top of the page.
    syncRows(el.messageRows, messages, (m) => `${m.id}:${m.created_at}`, createMessageRow, updateMessageRow, el.messagesHeading);
    el.messages.hidden = messages.length === 0;
    el.messagesLegend.hidden = el.messages.hidden;
    el.messagesHint.hidden = messages.length > 0;
    if (messages.length === 0) el.messagesHint.textContent = `${state.selected} has no messages.`;
  }

  const messagesPath = () => `/queues/${encodeURIComponent(state.selected)}?size=${encodeURIComponent(el.size.value)}`;

  // The request for the open queue's messages on its way, if any: { path, answered }.
  let fetching = null;

  /**
   * Asks with the tag of the last answer for the same queue and size, so that while nothing changes the DevTool answers
   * 304 and no body is fetched or parsed again: with large messages that was most of every second. Until the first
   * answer is in there is no tag, so whoever asks meanwhile (the poll, a second click) waits for that request rather
   * than fetch every body again; only after a change made here (a message sent) is an answer asked for before it stale.
   */
  function refreshMessages(changed = false) {
    if (!state.selected) return Promise.resolve();
    const path = messagesPath();
    if (!changed && fetching && fetching.path === path) return fetching.answered;
    const answered = fetchMessages(path);
    const current = { path, answered };
    fetching = current;
    const done = () => {
      if (fetching === current) fetching = null;
    };
    answered.then(done, done);
    return answered;
  }

  async function fetchMessages(path) {
    const name = state.selected;
    const size = Number(el.size.value);
    const last = state.peek && state.peek.path === path ? state.peek : null;
    const ticket = ++asked.messages;
    try {
      const response = await send("GET", path, undefined, last && last.tag ? { "If-None-Match": last.tag } : {});
      const messages = response.status === 304 ? last.messages : await response.json();
      // An answer overtaken by a change of queue or size (a poll was in flight) is not what the reader asked for now.
      // (The name as well as the path: with no queue open the path reads "/queues/null", as it does for a queue named null.)
      if (state.selected !== name || messagesPath() !== path || !newest("messages", ticket)) return;
      const tag = response.headers.get("ETag");
      state.peek = tag ? { path, tag, messages } : null;
      state.peeked = { queue: name, size, messages, ticket };
      // Rendered again even when unchanged: a reservation running out turns "in flight" into "ready".
      renderMessages(messages);
      const n = messages.length;
      announceOpened(name, n === 0 ? `${name} has no messages.` : `${name}: ${n} message${n === 1 ? "" : "s"} shown`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && state.selected === name && newest("messages", ticket)) {
        state.selected = null;
        // Unmarked here: a list answered as it was is not drawn again, so its next refresh may not do it.
        renderQueueRows();
        el.messagesHeading.textContent = "Messages";
        showMessagesHint(`Queue ${name} no longer exists.`);
        announceOpened(name, `Queue ${name} no longer exists.`);
      } else if (isOutage(error)) {
        throw error;
      } else if (error instanceof ApiError && state.selected === name && messagesPath() === path && newest("messages", ticket)) {
        // Refused (a size the broker does not allow, say): said instead of the list, which is not the one asked for.
        showMessagesHint(`Could not list the messages of ${name}: ${problemText(error)}`);
        announceOpened(name, el.messagesHint.textContent);
      }
    }
  }

  /**
   * Says what the first answer for a queue just opened showed, once: the poll's answers after it pass by, as a status
   * rewritten every second would be announced every second.
   */
  function announceOpened(name, text) {
    if (state.opening !== name) return;
    state.opening = null;
    setText(el.messagesStatus, text);
  }

  // ---- polling ------------------------------------------------------------------------------------------------

  /**
   * Fetches the queues (and the open queue's messages) once; shows the banner while the broker is out of reach.
   * `changed`: the page has just changed a queue, so an answer for the messages already on its way is too old.
   */
  async function refresh(changed = false) {
    // An action's refresh and the poll's can end in either order: the banner and the time of the last update follow the
    // one asked for last, or a poll that failed while the broker was away would bring the banner back after it returned.
    const ticket = ++asked.refresh;
    try {
      await refreshQueues();
      await refreshMessages(changed);
      // Only once both answered: cleared after the queues alone, a banner the open queue's failure brings back would
      // blink (and be announced) every second, and the page would call itself up to date.
      if (newest("refresh", ticket)) {
        state.lastSuccess = new Date();
        state.lastSuccessAt = performance.now();
        clearOutage();
      }
      renderSent();
    } catch (error) {
      if (isOutage(error) && newest("refresh", ticket)) showOutage(error);
    }
    renderFreshness();
  }

  async function refreshQueues() {
    const ticket = ++asked.queues;
    try {
      const text = await (await send("GET", "/queues")).text();
      if (newest("queues", ticket)) {
        const problem = state.queuesProblem;
        state.queuesLoaded = true;
        state.queuesProblem = null;
        // The same answer as the list on the page (the usual refresh) is neither parsed nor put on the page again:
        // with 10,000 queues that was most of each second's work in the tab.
        if (text !== state.queuesText) {
          state.queues = parse(text);
          state.queuesText = text;
          renderQueues();
        } else if (problem) {
          renderNoQueues();
          renderQueueChoices();
        }
      }
    } catch (error) {
      // Kept to say why the send form has no queue to offer: not because there is none.
      if (newest("queues", ticket)) {
        state.queuesProblem = error;
        renderNoQueues();
        renderQueueChoices();
      }
      throw error;
    }
  }

  // One request at a time: the next poll is scheduled when this one is answered, so a slow broker is not piled on.
  async function poll() {
    await refresh();
    setTimeout(poll, settings.refresh_interval_ms);
  }

  // ---- actions ------------------------------------------------------------------------------------------------

  // The fields each form's line speaks for. The one an error is about is marked invalid and described by the line, so a
  // screen reader says what is wrong on coming back to it, not only once as the line is announced.
  const fieldsOf = new Map([
    [el.createStatus, [el.createName]],
    [el.sendStatus, [el.sendQueue, el.sendBody]],
  ]);

  /** `ok`: true for what worked, false for what did not, null for news that is neither; `field`: the one at fault. */
  function say(target, text, ok, field = null) {
    target.textContent = text;
    target.className = ok === null ? "form-status" : ok ? "form-status ok" : "form-status error";
    for (const f of fieldsOf.get(target) || []) {
      if (f === field) {
        f.setAttribute("aria-invalid", "true");
        f.setAttribute("aria-describedby", target.id);
      } else {
        f.removeAttribute("aria-invalid");
        f.removeAttribute("aria-describedby");
      }
    }
  }

  function problemText(error) {
    const problem = error.problem || {};
    const fields = problem.errors ? Object.values(problem.errors).flat() : [];
    return fields.length > 0 ? fields.join(" ") : error.message;
  }

  // A button is marked busy while its request runs: a second click on a slow broker would send the message twice.
  // Marked, not disabled: a disabled button loses the focus, and a keyboard user who pressed Send was left on the page's
  // body, from where a screen reader starts again at the top. Its label says so too ("Sending…"), and the style sheet
  // gives it a busy look: marked alone, it looked as before, and a sighted user could not tell the press was taken.
  async function busyWhile(button, action) {
    if (button.getAttribute("aria-disabled") === "true") return;
    const turn = {};
    button.busyTurn = turn;
    button.idleLabel = button.textContent;
    button.setAttribute("aria-disabled", "true");
    button.textContent = button.dataset.busy;
    try {
      await action();
    } finally {
      // Not when the button was set free meanwhile, and perhaps is busy again with another request.
      if (button.busyTurn === turn) notBusy(button);
    }
  }

  function notBusy(button) {
    if (!button.busyTurn) return;
    button.busyTurn = null;
    button.removeAttribute("aria-disabled");
    button.textContent = button.idleLabel;
  }

  const submitting = (form, action) => busyWhile(form.querySelector("button[type=submit]"), action);

  el.createForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(el.createForm, createQueue);
  });

  // No maxlength on the name: it cut a name pasted in silently, and Create made a queue the user had not named. A name
  // over the DevTool's limit is kept as typed and said to be too long as it is typed, and Create has the DevTool say so.
  let nameTooLong = false;
  el.createName.addEventListener("input", () => {
    // Counted in characters, as the DevTool counts them: an emoji is one, though two UTF-16 units in .length.
    const length = [...el.createName.value.trim()].length;
    const tooLong = length > settings.max_queue_name_length;
    if (tooLong) {
      say(el.createStatus, `The name is ${length.toLocaleString("en")} characters long; a queue name may have at most ${settings.max_queue_name_length.toLocaleString("en")}.`, false, el.createName);
    } else if (nameTooLong) {
      say(el.createStatus, "", true);
    }
    nameTooLong = tooLong;
  });

  async function createQueue() {
    const name = el.createName.value.trim();
    try {
      const queue = await api("POST", "/queues", { name });
      say(el.createStatus, `Created ${queue.name} (id ${queue.id}).`, true);
      el.createName.value = "";
      nameTooLong = false;
      // The queue just made is shown, though the filter typed would hide it.
      if (!nameFilter()(queue.name)) el.queueFilter.value = "";
      await refresh();
      select(queue.name);
    } catch (error) {
      if (isOutage(error)) showOutage(error);
      // A 400 or a 409 is about the name, the only thing this form sends.
      say(el.createStatus, problemText(error), false, error.status === 400 || error.status === 409 ? el.createName : null);
    }
  }

  el.queueFilter.addEventListener("input", renderQueues);

  el.sendQueue.addEventListener("change", () => {
    state.mustChoose = el.sendQueue.value === "";
  });

  el.sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(el.sendForm, sendMessage);
  });

  async function sendMessage() {
    const queue = el.sendQueue.value;
    if (!queue) {
      const why = state.queues.length > 0 ? "Choose a queue." : state.queuesProblem ? problemText(state.queuesProblem) : "Create a queue first.";
      say(el.sendStatus, why, false, el.sendQueue);
      return;
    }
    try {
      const sent = await api("POST", "/messages", { queue_name: queue, body: el.sendBody.value });
      const target = state.queues.find((q) => q.name === queue);
      // Only answers asked for from now on can tell whether it is still there: one on its way may be from before it.
      state.sent = { id: sent.id, queue, queueId: target ? target.id : null, queues: asked.queues, messages: asked.messages, gone: false };
      say(el.sendStatus, `Sent message ${sent.id} to ${queue}.`, true);
      await refresh(true);
    } catch (error) {
      state.sent = null;
      if (isOutage(error)) showOutage(error);
      say(el.sendStatus, problemText(error), false, sendFault(error));
    }
  }

  /** The send form's field a refusal is about: the body for one too large or not valid, the queue for one not found. */
  function sendFault(error) {
    const errors = (error.problem && error.problem.errors) || {};
    if (error.status === 413 || errors.body) return el.sendBody;
    if (error.status === 404 || errors.queue_name || errors.queue_id) return el.sendQueue;
    return null;
  }

  /**
   * "Sent message 5 to orders." in green read as a message waiting there long after a consumer had deleted it, or its
   * queue had been. Once an answer asked for after the send shows it gone, the line says so. The broker cannot be asked
   * for one message, so it is known gone when its queue is, or is empty, or when the open queue's oldest messages
   * leave it out while reaching past it; otherwise the line stays as it is.
   */
  function renderSent() {
    const sent = state.sent;
    if (!sent || sent.gone) return;
    const why = sentGone(sent);
    if (!why) return;
    sent.gone = true;
    say(el.sendStatus, `Sent message ${sent.id} to ${sent.queue}. ${why}`, null);
  }

  function sentGone(sent) {
    if (shown.queues > sent.queues && !state.queuesProblem) {
      const queue = state.queues.find((q) => q.name === sent.queue);
      // By id too: a queue deleted and created again under its name does not hold the message.
      if (!queue || (sent.queueId !== null && queue.id !== sent.queueId)) return "The queue has since been deleted.";
      if (queue.queue_size === 0) return "It has since been deleted.";
    }
    const peeked = state.peeked;
    if (!peeked || peeked.ticket <= sent.messages || peeked.queue !== sent.queue) return null;
    const messages = peeked.messages;
    if (messages.some((m) => m.id === sent.id)) return null;
    const past = messages.length < peeked.size || messages.some((m) => m.id > sent.id);
    return past ? "It has since been deleted." : null;
  }

  function askDelete(name) {
    state.pendingDelete = name;
    state.pendingDeleteId = state.queues.find((q) => q.name === name)?.id ?? null;
    const at = [...el.queueRows.children].findIndex((tr) => tr.dataset.queue === name);
    state.deleteOpener = { from: document.activeElement, at };
    state.deleteGone = false;
    setText(el.confirmAsk, "Delete queue");
    el.confirmName.textContent = name;
    setText(el.confirmEnd, "?");
    setText(el.confirmStatus, "");
    setText(el.confirmCancel, "Cancel");
    el.confirmButton.hidden = false;
    renderConfirmWhat();
    el.confirm.showModal();
  }

  /**
   * What the open delete dialog says goes with the queue, as the list counts it now: set once as the dialog opened, it
   * still said "It has no messages." after a producer had sent a hundred, and Delete took them all.
   */
  function renderConfirmWhat() {
    const name = state.pendingDelete;
    if (!name) return;
    // By its name too: a broker started again on another database gives its ids out again, and the dialog went on
    // counting, and its Delete deleted, the queue that now had this one's id.
    const queue = state.queues.find((q) => q.id === state.pendingDeleteId && q.name === name);
    // The dialog opened from its row, so a list without it was answered after it went. Once gone it stays so: a queue
    // created again under its name is another queue, which the dialog did not ask about.
    if (!queue) state.deleteGone = true;
    if (state.deleteGone) {
      renderConfirmGone(name);
      return;
    }
    const size = queue.queue_size;
    const what =
      size === 0 ? "It has no messages."
      : size === 1 ? "It and its one message are deleted."
      : `It and all ${size.toLocaleString("en")} of its messages are deleted.`;
    // Said, because a consumer is working on these now: its delete will find them gone, and no one will get them again.
    const inFlight = queue.in_flight_size;
    const held =
      inFlight === 0 ? ""
      : inFlight === 1 ? " One is in flight: a consumer is working on it now."
      : ` ${inFlight.toLocaleString("en")} are in flight: consumers are working on them now.`;
    setText(el.confirmWhat, `${what}${held} This cannot be undone.`);
  }

  /**
   * A queue deleted elsewhere while its dialog was open (or found gone by its Delete) had the dialog still say that its
   * messages would be deleted, and offer to delete them: it says the queue is gone instead, and offers only to close.
   */
  function renderConfirmGone(name) {
    setText(el.confirmAsk, "Queue");
    setText(el.confirmEnd, " is already gone");
    setText(el.confirmWhat, "It was deleted elsewhere, with its messages: there is nothing left to delete.");
    if (el.confirmButton.hidden) return;
    // Hidden with the focus on it, the button would leave the focus on the page's body, outside the dialog.
    const hadFocus = document.activeElement === el.confirmButton;
    el.confirmButton.hidden = true;
    setText(el.confirmCancel, "Close");
    if (hadFocus) el.confirmCancel.focus();
    setText(el.confirmStatus, `Queue ${name} is already gone: there is nothing left to delete.`);
  }

  /**
   * The dialog gives the focus back to what had it, but a queue deleted elsewhere while the dialog was open took its
   * Delete button with its row, and a keyboard user was left on the page's body: the row now in its place takes it, as
   * when a row goes with the focus in it.
   */
  function focusAfterDialog() {
    const opener = state.deleteOpener;
    state.deleteOpener = null;
    if (!opener || opener.from.isConnected || opener.at < 0) return;
    const rows = el.queueRows.children;
    const row = rows[Math.min(opener.at, rows.length - 1)];
    ((row && row.querySelector("button")) || el.createName).focus();
  }

  el.confirm.addEventListener("close", () => {
    state.pendingDelete = null;
    state.pendingDeleteId = null;
    // Closed (Escape) while its delete runs on: the dialog is free for another queue at once, and that delete says its
    // outcome under the create form (deleteQueue). Left busy, the next queue's Delete read "Deleting…" and did nothing.
    notBusy(el.confirmButton);
    focusAfterDialog();
  });

  el.confirmButton.addEventListener("click", (event) => {
    // The dialog stays open until the DevTool answers, so that a queue found gone by the delete is said where it was asked.
    event.preventDefault();
    // Offered only while the dialog's queue, found by this id, is in the list (renderConfirmWhat hides it otherwise).
    const name = state.pendingDelete;
    const id = state.pendingDeleteId;
    if (id !== null) busyWhile(el.confirmButton, () => deleteQueue(name, id));
  });

  async function deleteQueue(name, id) {
    // Closed meanwhile (Escape), or opened again for another queue, the dialog no longer speaks for this delete.
    const asking = () => el.confirm.open && state.pendingDeleteId === id;
    try {
      await api("DELETE", `/queues/${id}`);
      if (asking()) el.confirm.close();
      say(el.createStatus, `Deleted ${name}.`, true);
      if (state.selected === name) {
        state.selected = null;
        el.messagesHeading.textContent = "Messages";
        showMessagesHint(`Deleted ${name}. Click a queue to see its oldest messages.`);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        // Not a failure: what was asked for is done. The list's refresh then takes its row, as for any queue that goes.
        if (asking()) {
          state.deleteGone = true;
          renderConfirmWhat();
        } else {
          say(el.createStatus, `Queue ${name} was already gone.`, null);
        }
      } else {
        if (asking()) el.confirm.close();
        if (isOutage(error)) showOutage(error);
        say(el.createStatus, problemText(error), false);
        return;
      }
    }
    await refresh();
  }

  el.size.addEventListener("change", () => refreshMessages().catch(() => {}));

  /** The usual sizes up to the DevTool's largest, with its default and its largest among them; the default chosen. */
  function renderSizeChoices() {
    const sizes = [...new Set([10, 25, 50, 100, settings.default_peek_size, settings.max_peek_size])]
      .filter((n) => n <= settings.max_peek_size)
      .sort((a, b) => a - b);
    el.size.replaceChildren(...sizes.map((n) => new Option(String(n), String(n))));
    el.size.value = String(settings.default_peek_size);
  }

  /** "every second", "every 2 s", "every 0.5 s": the refresh interval as the page's hints say it. */
  function every(ms) {
    return ms === 1000 ? "every second" : `every ${Number((ms / 1000).toFixed(1))} s`;
  }

  async function start() {
    try {
      Object.assign(settings, await api("GET", "/dashboard/settings"));
    } catch {
      // The defaults above; the first refresh will say whether the DevTool is there at all.
    }
    for (const hint of document.querySelectorAll(".refresh-every")) hint.textContent = every(settings.refresh_interval_ms);
    renderSizeChoices();
    renderQueueChoices();
    setInterval(renderFreshness, 1000);
    poll();
  }

  start();
})();
