// groundup's session on the device. Every player page carries the whole of the day's
// session (#session-plan: the steps, the pain rules, the warning signs and their advice).
// Before a step is sent, the session as it will be after that step is kept in IndexedDB;
// when the network is gone (or a step cannot reach the server) this script runs the rest
// of the session here, keeps every answer as it is entered, and sends the finished session
// to /me/session/upload with its own log id when the network is back. A retry is stored
// once; a conflict is shown, never dropped.
(function () {
  "use strict";

  var STORE = "sessions";
  var sending = {};

  // ----- IndexedDB -----------------------------------------------------------------------

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open("groundup", 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "log_id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function inStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function keep(record) {
    record.updated = Date.now();
    return inStore("readwrite", function (store) { return store.put(record); });
  }

  function forget(logId) {
    return inStore("readwrite", function (store) { return store.delete(logId); });
  }

  function allKept() {
    return inStore("readonly", function (store) { return store.getAll(); }).then(function (all) {
      return (all || []).sort(function (a, b) { return a.updated - b.updated; });
    });
  }

  // ----- the session's own rules, as the server's player has them ------------------------

  function number(text) {
    var value = parseFloat(String(text || "").replace(",", ".").trim());
    return isNaN(value) ? null : value;
  }

  // The answers of one step, read from a player form (the server's or this script's).
  function answersOf(form) {
    var values = { sets: [], signs: [] };
    form.querySelectorAll("input").forEach(function (input) {
      var match = /^set(\d+)$/.exec(input.name);
      if (match) values.sets[Number(match[1]) - 1] = input.value;
      else if (input.type === "radio" && input.checked) values[input.name] = input.value;
      else if (input.name === "sign" && input.checked) values.signs.push(input.value);
    });
    return values;
  }

  function stepOf(record) { return record.plan.steps[record.done.length]; }

  // One step answered: its log, or the errors beside its fields.
  function readStep(step, values) {
    var errors = {};
    var amounts = [];
    for (var n = 0; n < step.sets; n += 1) {
      var amount = number(values.sets[n]);
      if (amount === null || amount < 0 || amount > 3600) errors["set" + (n + 1)] = "write a number from 0 to 3600";
      amounts.push(amount);
    }
    var pain = values.pain === undefined ? null : Number(values.pain);
    if (pain === null) errors.pain = "choose a number from 0 to 10";
    var effort = values.effort === undefined ? null : Number(values.effort);
    if (effort === null && step.main) errors.effort = "choose a number from 1 to 10";
    var form = values.form;
    if (form !== "clean" && step.fault_ids.indexOf(form) < 0) errors.form = "choose clean or the fault you noticed";
    if (Object.keys(errors).length) return { errors: errors };
    var log = { exercise_id: step.exercise_id, sets: [] };
    if (step.leg) log.side = step.leg;
    amounts.forEach(function (amount, i) {
      var set = { amount: amount, pain: pain, form: i === amounts.length - 1 ? form : "clean" };
      if (step.load_kg !== null) set.load_kg = step.load_kg;
      if (step.knob !== null) set.knob = step.knob;
      if (effort !== null) set.rpe = effort;
      log.sets.push(set);
    });
    return { log: log, pain: pain };
  }

  function maxPain(log) {
    return Math.max.apply(null, log.sets.map(function (s) { return s.pain; }));
  }

  // Apply one action of the player to the session; the errors when it cannot be done.
  function apply(record, action, values) {
    var plan = record.plan, rules = plan.pain;
    record.notice = "";
    record.errors = {};
    if (action === "start") { record.done = []; record.state = "playing"; return null; }
    if (action === "resume") { record.state = record.done.length >= plan.steps.length ? "review" : "playing"; return null; }
    if (action === "back") {
      var previous = record.done.pop();
      record.state = "playing";
      record.answers = previous && previous.log ? answersFromLog(previous.log) : null;
      return null;
    }
    if (action === "warning") {
      if (!values.signs.length) return { sign: "choose the sign you noticed, or carry on if there is none" };
      record.signs = values.signs;
      record.ending = "signs";
      record.state = "waiting";
      return null;
    }
    if (action === "save") {
      var anything = record.done.some(function (item) { return item.log; });
      if (!anything) return { pain_after: "nothing was logged; if you did not train, skip the day on Today" };
      if (values.pain_after === undefined) return { pain_after: "choose a number from 0 to 10" };
      record.pain_after = Number(values.pain_after);
      record.ending = "save";
      record.state = "waiting";
      return null;
    }
    var step = stepOf(record);
    if (!step) { record.state = "review"; return null; }
    var index = record.done.length;
    if (action === "leave_out") {
      record.done.push({ step: index });
    } else {
      var read = readStep(step, values);
      if (read.errors) return read.errors;
      record.done.push({ step: index, log: read.log });
      if (read.pain >= rules.end_at) {
        // The flare-up zone: the session ends here, what was done is kept.
        record.pain_after = read.pain;
        record.ending = "pain";
        record.state = "waiting";
        return null;
      }
      if (read.pain >= rules.stop_at) {
        // Too much: this exercise stops here, its other side too; the sets done are kept.
        while (record.done.length < plan.steps.length && plan.steps[record.done.length].slot === step.slot) {
          record.done.push({ step: record.done.length });
        }
        record.notice = "You stopped " + step.name.toLowerCase() + " at pain " + read.pain +
          ": that is too much for today, so it ends here. The sets you did are kept. " +
          (step.main ? rules.next_time_main : rules.next_time_other);
      }
    }
    record.answers = null;
    record.state = record.done.length >= plan.steps.length ? "review" : "playing";
    return null;
  }

  function answersFromLog(log) {
    var last = log.sets[log.sets.length - 1];
    var fault = log.sets.filter(function (s) { return s.form !== "clean"; })[0];
    var values = {
      sets: log.sets.map(function (s) { return String(s.amount); }),
      pain: String(maxPain(log)),
      form: fault ? fault.form : "clean",
      signs: [],
    };
    if (last.rpe !== undefined) values.effort = String(last.rpe);
    return values;
  }

  // ----- sending ---------------------------------------------------------------------------

  function csrf() {
    var field = document.querySelector('input[name="csrf"]');
    return field ? field.value : "";
  }

  function upload(record) {
    if (sending[record.log_id]) return sending[record.log_id];
    var body = new URLSearchParams();
    body.set("csrf", csrf());
    body.set("session", JSON.stringify({
      log_id: record.log_id, day: record.day, version: record.version, done: record.done,
      ending: record.ending, pain_after: record.ending === "signs" ? null : record.pain_after,
      signs: record.ending === "signs" ? record.signs : [],
    }));
    var done = fetch("/me/session/upload", {
      method: "POST", credentials: "same-origin", body: body, headers: { Accept: "application/json" },
    }).then(function (response) {
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("application/json") !== 0) {
        record.trouble = response.status === 403
          ? "Not sent yet: open Today again, then press “Send now”."
          : "Not sent yet: sign in again, then press “Send now”.";
        return keep(record).then(function () { return record; });
      }
      return response.json().then(function (data) {
        if (response.ok) {
          record.state = "sent";
          record.result = data;
          return forget(record.log_id).then(function () { return record; });
        }
        record.state = "conflict";
        record.conflict = data;
        return keep(record).then(function () { return record; });
      });
    }, function () {
      record.trouble = "No connection yet: it is sent as soon as there is one.";
      return keep(record).then(function () { return record; });
    });
    sending[record.log_id] = done;
    return done.then(function (result) { delete sending[record.log_id]; return result; }, function (error) {
      delete sending[record.log_id];
      throw error;
    });
  }

  // ----- building the page -----------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function fieldError(errors, name) {
    return errors && errors[name] ? el("p", { class: "field-error", id: "d-" + name + "-error", text: errors[name] }) : null;
  }

  function scale(name, legend, low, high, hint, current, errors, ends) {
    var options = [];
    for (var n = low; n <= high; n += 1) {
      options.push(el("label", {}, [
        el("input", { type: "radio", name: name, value: String(n), checked: current === String(n),
          "aria-describedby": errors && errors[name] ? "d-" + name + "-error" : null }),
        el("span", { text: String(n) }),
      ]));
    }
    return el("fieldset", { class: "field" + (errors && errors[name] ? " has-error" : ""), id: "d-" + name }, [
      el("legend", { text: legend }),
      hint ? el("p", { class: "hint", text: hint }) : null,
      fieldError(errors, name),
      el("div", { class: "scale" + (high - low + 1 === 11 ? "" : " scale-" + (high - low + 1)) }, options),
      ends ? el("p", { class: "scale-ends small" }, [el("span", { text: low + " = " + ends[0] }), el("span", { text: high + " = " + ends[1] })]) : null,
    ]);
  }

  function decisionList(items) {
    if (!items || !items.length) return el("p", { class: "notice", text: "Nothing changes: keep going with the same program." });
    return el("ul", { class: "timeline" }, items.map(function (item) {
      return el("li", { class: item.kind }, [
        el("span", { class: "tag " + (item.tag || ""), text: item.words }), " ",
        el("span", { class: "small", text: item.date }),
        el("p", { text: item.text }),
      ]);
    }));
  }

  function sessionLines(record) {
    var lines = [];
    record.done.forEach(function (item) {
      var step = record.plan.steps[item.step];
      if (!item.log) return;
      lines.push(step.name + " (" + step.side + "): " +
        item.log.sets.map(function (s) { return s.amount; }).join(" · ") + " " + step.unit + ", pain " + maxPain(item.log));
    });
    if (record.ending === "signs") lines.push("Stopped for a warning sign");
    else if (record.pain_after !== undefined && record.pain_after !== null) lines.push("Pain right after the session: " + record.pain_after);
    return lines;
  }

  // What one kept session says: waiting, a conflict, or what the program decided.
  function keptBlock(record, refresh) {
    var block = el("div", { class: "card stack", "data-kept": record.state, "data-log-id": record.log_id });
    var day = record.plan.day_text;
    if (record.state === "sent") {
      var result = record.result;
      block.appendChild(el("h2", { text: result.title }));
      block.appendChild(el("p", { text: result.message }));
      if (result.flare_plan) {
        block.appendChild(el("section", { class: "card", "data-flare-plan": true }, [
          el("h3", { text: "Your flare-up plan" }), el("p", { text: result.flare_plan }),
        ]));
      }
      if (result.paused) {
        block.appendChild(el("div", { class: result.paused.emergency ? "alert" : "warn", role: "alert", "data-paused": true }, [
          el("p", {}, [el("strong", { text: result.paused.label })]), el("p", { text: result.paused.text }),
        ]));
      }
      block.appendChild(el("h3", { text: "What changes" }));
      block.appendChild(decisionList(result.items));
      return block;
    }
    if (record.state === "conflict") {
      var conflict = record.conflict || {};
      var has = conflict.server_has || {};
      block.className += " warn";
      block.appendChild(el("h2", { text: conflict.status === "conflict"
        ? "Not sent: the session of " + day + " clashes with what is already saved"
        : "Not sent: the session of " + day + " could not be saved" }));
      block.appendChild(el("p", { "data-conflict": true, text: conflict.message || "" }));
      if (has.lines && has.lines.length) {
        block.appendChild(el("p", {}, [el("strong", { text: "Already saved for " + has.day_text + ":" })]));
        block.appendChild(el("ul", { "data-server-has": true }, has.lines.map(function (line) { return el("li", { text: line }); })));
      }
      block.appendChild(el("p", {}, [el("strong", { text: "Kept on this device:" })]));
      block.appendChild(el("ul", {}, sessionLines(record).map(function (line) { return el("li", { text: line }); })));
      block.appendChild(el("p", { class: "small", text: "Tell your clinician if the saved one is wrong. The copy here stays until you remove it." }));
      var remove = el("button", { type: "button", class: "button secondary", text: "Remove the copy on this device" });
      remove.addEventListener("click", function () {
        if (window.confirm("Remove the session kept on this device? The saved one stays.")) forget(record.log_id).then(refresh);
      });
      block.appendChild(remove);
      return block;
    }
    var logged = record.done.filter(function (item) { return item.log; }).length;
    block.appendChild(el("p", {}, [el("strong", { text: "Session of " + day }),
      ": " + (record.ending === "signs" ? "stopped for a warning sign, " : record.ending === "pain" ? "stopped for pain, " : "") +
      plural(logged, "exercise") + " logged."]));
    block.appendChild(el("details", {}, [
      el("summary", { text: "What was logged" }),
      el("ul", {}, sessionLines(record).map(function (line) { return el("li", { text: line }); })),
    ]));
    if (record.trouble) block.appendChild(el("p", { class: "small", "data-trouble": true, text: record.trouble }));
    var now = el("button", { type: "button", class: "button", "data-send-now": true, text: "Send now" });
    now.addEventListener("click", function () {
      now.disabled = true;
      now.textContent = "Sending…";
      upload(record).then(function (sent) { refresh(sent); });
    });
    block.appendChild(now);
    return block;
  }

  // The "waiting to be sent" area: on Today, and at the top of the device's player.
  function waitingArea(area, owner, extra) {
    function show(justSent) {
      allKept().then(function (all) {
        var records = all.filter(function (r) {
          return r.owner === owner && r.offline && (r.state === "waiting" || r.state === "conflict");
        });
        area.textContent = "";
        var waiting = records.filter(function (r) { return r.state === "waiting"; }).length;
        if (waiting) {
          area.appendChild(el("p", { class: "notice", role: "status", "data-waiting": true,
            text: plural(waiting, "session") + " waiting to be sent" + (navigator.onLine === false ? " when the connection is back" : "") + "." }));
        }
        if (justSent && justSent.state === "sent") area.appendChild(keptBlock(justSent, show));
        records.forEach(function (record) { area.appendChild(keptBlock(record, show)); });
        if (extra) extra(all, justSent);
        area.hidden = !area.childNodes.length;
      });
    }
    function sendAll() {
      if (navigator.onLine === false) return show();
      allKept().then(function (records) {
        var due = records.filter(function (r) { return r.owner === owner && r.offline && r.state === "waiting"; });
        if (!due.length) return show();
        due.reduce(function (chain, record) {
          return chain.then(function () { return upload(record).then(function (sent) { show(sent); }); });
        }, Promise.resolve());
      });
    }
    window.addEventListener("online", sendAll);
    window.addEventListener("offline", function () { show(); });
    sendAll();
    return { show: show, sendAll: sendAll };
  }

  // ----- the player on the device ------------------------------------------------------------

  function player(main, record) {
    var plan = record.plan;
    main.classList.add("player");
    window.scrollTo(0, 0);

    function save() { return keep(record); }

    // What is kept and waiting, above every screen of the player.
    var status = el("section", { class: "stack", "data-device-status": true, "aria-live": "polite" });
    var onDevice = el("p", { class: "small", "data-on-device": true,
      text: "This session runs on this device: every answer is kept here as you enter it, and sent when the connection is back." });
    status.appendChild(onDevice);
    var area = el("div", { class: "stack" });
    status.appendChild(area);
    var waiting = waitingArea(area, plan.owner, function (all, justSent) {
      // This session sent (or refused) from here: the screen says so.
      if (justSent && justSent.log_id === record.log_id && justSent.state !== record.state) {
        record.state = justSent.state;
        record.result = justSent.result;
        record.conflict = justSent.conflict;
        draw();
      }
    });

    function act(action, values) {
      var errors = apply(record, action, values || { sets: [], signs: [] });
      if (errors) {
        record.errors = errors;
        record.answers = values;
      }
      // The next screen at once, so a second tap cannot answer the same step twice.
      draw();
      save().then(function () {
        if (record.state === "waiting") waiting.sendAll();
      });
    }

    function stepScreen(step) {
      var values = record.answers || { sets: [], signs: [] };
      var errors = record.errors || {};
      var index = record.done.length, total = plan.steps.length;
      var nodes = [];
      if (Object.keys(errors).length) {
        nodes.push(el("div", { class: "alert error-summary", role: "alert" }, [
          el("p", {}, [el("strong", { text: "Some answers need another look:" })]),
          el("ul", {}, Object.keys(errors).map(function (name) {
            return el("li", {}, [el("a", { href: "#d-" + name, text: errors[name] })]);
          })),
        ]));
      }
      if (record.notice) nodes.push(el("p", { class: "warn", role: "status", "data-notice": true, text: record.notice }));
      nodes.push(el("p", { class: "small progress-line", text: "Step " + (index + 1) + " of " + total + " · " + step.part + " · " + plan.day_text }));
      nodes.push(el("progress", { max: String(total), value: String(index), "aria-label": "Step " + (index + 1) + " of " + total }));
      nodes.push(el("h1", { text: step.name }));
      nodes.push(el("p", { class: "side-line" }, [el("span", { class: "tag", text: step.side })]));
      nodes.push(el("div", { class: "card dose-card" }, [
        el("p", { class: "big-number", text: step.dose }),
        step.tempo ? el("p", { class: "cue", text: "Tempo: " + step.tempo }) : null,
        step.knob ? el("p", { class: "cue", text: step.knob }) : null,
        step.pair ? el("p", { class: "small", text: "Take turns with " + step.pair.toLowerCase() + ": one set of each." }) : null,
        step.rest ? el("p", { class: "small", text: "Rest " + step.rest + " s between sets." }) : null,
      ]));
      nodes.push(el("details", { class: "card how-to" }, [
        el("summary", { text: "How to do it" }),
        el("ol", {}, step.steps.map(function (line) { return el("li", { text: line }); })),
        el("p", {}, [el("strong", { text: "Think about:" })]),
        el("ul", {}, step.cues.map(function (line) { return el("li", { text: line }); })),
        step.cautions.length ? el("p", { class: "warn", text: step.cautions.join(" ") }) : null,
      ]));

      var rows = [];
      for (var n = 1; n <= step.sets; n += 1) {
        var name = "set" + n;
        var value = values.sets[n - 1] !== undefined ? values.sets[n - 1] : step.amount;
        rows.push(el("div", { class: "set-row" + (errors[name] ? " has-error" : "") }, [
          el("label", { for: "d-" + name, text: "Set " + n }),
          el("div", { class: "stepper" }, [
            el("button", { type: "button", class: "secondary", "data-device-step": "d-" + name, "data-delta": "-1", "aria-label": "One less in set " + n, text: "−" }),
            el("input", { id: "d-" + name, name: name, type: "text", inputmode: "decimal", value: String(value),
              "aria-describedby": errors[name] ? "d-" + name + "-error" : null }),
            el("button", { type: "button", class: "secondary", "data-device-step": "d-" + name, "data-delta": "1", "aria-label": "One more in set " + n, text: "+" }),
          ]),
          el("span", { class: "small", text: step.unit }),
          fieldError(errors, name),
        ]));
      }
      var says = el("p", { class: "warn", "data-pain-says": true, "aria-live": "polite", hidden: true });
      var formChoices = [el("label", { class: "choice" }, [
        el("input", { type: "radio", name: "form", value: "clean", checked: (values.form || "clean") === "clean" }), " Good throughout",
      ])].concat(step.faults.map(function (fault) {
        return el("label", { class: "choice" }, [
          el("input", { type: "radio", name: "form", value: fault.id, checked: values.form === fault.id }), " " + fault.text,
        ]);
      }));
      var signs = plan.signs.map(function (sign) {
        return el("label", { class: "choice" }, [
          el("input", { type: "checkbox", name: "sign", value: sign.id, checked: values.signs.indexOf(sign.id) >= 0 }), " " + sign.text,
        ]);
      });
      var form = el("form", { class: "stack", novalidate: true, "data-device-form": true }, [
        el("section", { class: "card stack", "aria-labelledby": "d-done-h" }, [
          el("h2", { id: "d-done-h", text: "What you did" }),
          el("p", { class: "small", text: "Filled in with the plan. Change a number if you did more or less." }),
          el("div", { class: "sets" }, rows),
        ]),
        el("section", { class: "card stack", "aria-labelledby": "d-felt-h" }, [
          el("h2", { id: "d-felt-h", text: "How did it feel?" }),
          el("div", {}, [scale("pain", "Pain during it", 0, 10, plan.pain.hint, values.pain, errors, ["none", "worst"]), says]),
          scale("effort", "How hard was it?" + (step.main ? "" : " (optional)"), 1, 10, "", values.effort, errors, ["very easy", "as hard as possible"]),
          el("fieldset", { class: "field" + (errors.form ? " has-error" : ""), id: "d-form" }, [
            el("legend", { text: "Your form" }), fieldError(errors, "form"), el("div", { class: "stack choices" }, formChoices),
          ]),
        ]),
        el("button", { type: "submit", name: "action", value: "next", class: "button big", text: index + 1 < total ? "Next exercise" : "Finish" }),
        el("div", { class: "actions" }, [
          el("button", { type: "submit", name: "action", value: "back", class: "button secondary", text: "Back" }),
          el("button", { type: "submit", name: "action", value: "leave_out", class: "button secondary", text: "I left this one out" }),
        ]),
        el("details", { class: "card warning-signs", open: errors.sign ? true : null, id: "d-sign" }, [
          el("summary", { text: "Something worrying? Stop and tell us" }),
          el("p", { text: "If you notice any of these, stop the session now. What you did so far is kept." }),
          fieldError(errors, "sign"),
          el("fieldset", { class: "stack choices" }, [el("legend", { class: "small", text: "Tick what you noticed" })].concat(signs)),
          el("button", { type: "submit", name: "action", value: "warning", class: "button danger", text: "Stop the session" }),
        ]),
      ]);
      function painSays() {
        var chosen = form.querySelector('input[name="pain"]:checked');
        var pain = chosen ? Number(chosen.value) : -1;
        says.textContent = pain >= plan.pain.end_at
          ? "Pain " + pain + ": the session stops here. Press the button below and what you did is kept."
          : pain >= plan.pain.stop_at
            ? "Pain " + pain + ": stop this exercise now. Press the button below: the sets you did are kept and the next exercise comes."
            : "";
        says.hidden = says.textContent === "";
      }
      form.addEventListener("click", function (event) {
        var button = event.target.closest("[data-device-step]");
        if (!button) return;
        var input = document.getElementById(button.dataset.deviceStep);
        var amount = number(input.value) || 0;
        input.value = String(Math.round(Math.max(0, amount + Number(button.dataset.delta)) * 10) / 10);
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
      function remember() {
        record.answers = answersOf(form);
        painSays();
        save();
      }
      form.addEventListener("input", remember);
      form.addEventListener("change", remember);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        act(event.submitter ? event.submitter.value : "next", answersOf(form));
      });
      nodes.push(form);
      painSays();
      return nodes;
    }

    function reviewScreen() {
      var errors = record.errors || {};
      var rows = record.done.map(function (item) {
        var step = plan.steps[item.step];
        var name = el("td", {}, [el("strong", { text: step.name }), el("br"), el("span", { class: "small", text: step.side })]);
        if (!item.log) return el("tr", {}, [name, el("td", { colspan: "4", class: "small", text: "left out" })]);
        var last = item.log.sets[item.log.sets.length - 1];
        var fault = item.log.sets.filter(function (s) { return s.form !== "clean"; })[0];
        var faultText = fault ? (step.faults.filter(function (f) { return f.id === fault.form; })[0] || { text: fault.form }).text : "clean";
        return el("tr", {}, [name,
          el("td", { text: item.log.sets.map(function (s) { return s.amount; }).join(" · ") + " " + step.unit }),
          el("td", { text: String(maxPain(item.log)) }),
          el("td", { text: last.rpe === undefined ? "—" : String(last.rpe) }),
          el("td", { text: faultText })]);
      });
      var anything = record.done.some(function (item) { return item.log; });
      var form = el("form", { class: "stack", novalidate: true, "data-device-form": true }, [
        anything ? scale("pain_after", "How much does it hurt now, right after the session?", 0, 10,
          "The program compares this with how your leg feels tomorrow morning before it moves you on.",
          (record.answers || {}).pain_after, errors, ["none", "worst"]) : fieldError(errors, "pain_after"),
        anything ? el("button", { type: "submit", name: "action", value: "save", class: "button big", text: "Save this session" }) : null,
        el("button", { type: "submit", name: "action", value: "back", class: "button secondary", text: "Back to the last exercise" }),
      ]);
      form.addEventListener("change", function () { record.answers = answersOf(form); save(); });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        act(event.submitter ? event.submitter.value : "save", answersOf(form));
      });
      return [
        record.notice ? el("p", { class: "warn", role: "status", "data-notice": true, text: record.notice }) : null,
        el("h1", { text: "All done: check and save" }),
        el("p", { class: "small", text: plan.day_text }),
        el("div", { class: "table-wrap" }, [el("table", {}, [
          el("thead", {}, [el("tr", {}, ["Exercise", "Sets", "Pain", "Effort", "Form"].map(function (h) { return el("th", { text: h }); }))]),
          el("tbody", {}, rows),
        ])]),
        form,
      ];
    }

    function endScreen() {
      var nodes = [];
      if (record.ending === "pain") {
        nodes.push(el("h1", { text: "Stop here for today: pain " + record.pain_after }));
        nodes.push(el("div", { class: "alert", role: "alert", "data-stopped": true }, [el("p", { text: plan.pain.stop_message })]));
        nodes.push(el("section", { class: "card", "data-flare-plan": true, "aria-labelledby": "d-flare-h" }, [
          el("h2", { id: "d-flare-h", text: "Your flare-up plan" }),
          el("p", { text: plan.pain.flare_plan }),
          el("p", { class: "small", text: "Tomorrow morning, do the check-in: it tells the program how your leg settled." }),
        ]));
      } else if (record.ending === "signs") {
        var chosen = plan.signs.filter(function (s) { return record.signs.indexOf(s.id) >= 0; });
        var rank = Math.max.apply(null, chosen.map(function (s) { return s.rank; }));
        var top = chosen.filter(function (s) { return s.rank === rank; });
        var reasons = top.map(function (s) { return s.reason; }).filter(function (r, i, all) { return all.indexOf(r) === i; });
        nodes.push(el("h1", { text: top[0].emergency ? "Stop now and get help" : "Stop the session now" }));
        nodes.push(el("div", { class: (top[0].emergency ? "alert" : "warn") + " referral", role: "alert", "data-paused": true }, [
          el("p", { class: "lead" }, [el("strong", { text: top[0].label })]),
        ]));
        nodes.push(el("p", { text: "You noticed: " + chosen.map(function (s) { return s.text.toLowerCase(); }).join("; ") + "." }));
        reasons.forEach(function (reason) { nodes.push(el("p", { text: reason })); });
        nodes.push(el("h2", { text: "What to do now" }));
        nodes.push(el("ul", {}, [
          el("li", { text: "Do no exercises from the program until you have been seen." }),
          el("li", { text: "Show this page to the doctor or physiotherapist, or tell them what you noticed." }),
          el("li", { text: "When the connection is back this is sent, and your program is paused until your clinician restarts it." }),
        ]));
        nodes.push(el("p", { class: "small", text: plan.safety_net }));
      } else if (record.state === "sent") {
        nodes.push(el("h1", { text: "Session sent" }));
      } else if (record.state === "conflict") {
        nodes.push(el("h1", { text: "This session was not sent" }));
      } else {
        nodes.push(el("h1", { text: "Session kept on this device" }));
        nodes.push(el("p", { text: "Well done. It is sent as soon as there is a connection, and then you see what the program does next." }));
      }
      return nodes;
    }

    function draw() {
      main.textContent = "";
      var nodes;
      if (record.state === "playing" && stepOf(record)) nodes = stepScreen(stepOf(record));
      else if (record.state === "playing" || record.state === "review") nodes = reviewScreen();
      else nodes = endScreen();
      var ended = record.state !== "playing" && record.state !== "review";
      onDevice.hidden = record.state === "sent" || record.state === "conflict";
      // At the end, what to do comes first; what waits to be sent follows.
      if (!ended) main.appendChild(status);
      nodes.forEach(function (node) { if (node) main.appendChild(node); });
      if (ended) {
        main.appendChild(status);
        main.appendChild(el("div", { class: "actions" }, [el("a", { class: "button secondary", href: "/me", text: "Back to today" })]));
      }
    }

    draw();
  }

  // ----- the server's player pages: keep a copy, take over when offline -------------------------

  function readPlan() {
    var node = document.getElementById("session-plan");
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function fromForm(form, plan) {
    var field = function (name) { var f = form.querySelector('[name="' + name + '"]'); return f ? f.value : ""; };
    var done = [];
    try { done = JSON.parse(field("draft") || "[]"); } catch (e) { done = []; }
    return {
      log_id: field("log_id"), day: field("day"), version: Number(field("version")), owner: plan.owner,
      plan: plan, done: done, state: "playing", offline: false, answers: null,
    };
  }

  function takeOver(record) {
    record.offline = true;
    player(document.getElementById("main"), record);
    return keepCopy(record);
  }

  // The session as it will be after this step, kept before the step is sent: when the
  // network is gone the device carries on at once; otherwise the form goes to the server
  // as ever, and should it not get there, the service worker answers with Today, which
  // carries on from this copy.
  function watchForm(form, plan) {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      var action = submitter && submitter.name === "action" ? submitter.value
        : /\/save$/.test(form.getAttribute("action")) ? "save" : "next";
      var record = fromForm(form, plan);
      if (!record.log_id || !record.day) return;
      var values = answersOf(form);
      var errors = apply(record, action, values);
      if (navigator.onLine !== false) {
        if (!errors) keepCopy(record).catch(function () {});
        return;  // the server answers, and says what is wrong if anything is
      }
      event.preventDefault();
      if (errors) { record.errors = errors; record.answers = values; }
      takeOver(record);
    });
  }

  // One copy a day: a newer start of the same day replaces an older one never taken over.
  function keepCopy(record) {
    record.updated = Date.now();
    return inStore("readwrite", function (store) {
      store.openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (!cursor) return;
        var old = cursor.value;
        if (!old.offline && old.day === record.day && old.owner === record.owner && old.log_id !== record.log_id) cursor.delete();
        cursor.continue();
      };
      return store.put(record);
    });
  }

  function today(area, plan) {
    var owner = area.dataset.owner, day = area.dataset.day;
    var starts = document.querySelectorAll("form[data-offline], [data-day-choice]");
    function carryOn(records) {
      var mine = records.filter(function (r) { return r.owner === owner && r.day === day && r.offline; });
      var kept = mine.filter(function (r) { return r.state === "playing" || r.state === "review"; }).pop();
      // A session of this day kept on the device: starting another would clash with it.
      starts.forEach(function (form) { form.hidden = mine.length > 0; });
      if (!kept) return;
      var total = kept.plan.steps.length;
      var box = el("div", { class: "card stack", "data-kept": "playing" }, [
        el("p", { class: "notice", text: "A session is kept on this device: " + kept.done.length + " of " + total + " steps done." }),
      ]);
      var button = el("button", { type: "button", class: "button big", text: kept.state === "review" ? "Check and save it" : "Carry on from step " + (kept.done.length + 1) });
      button.addEventListener("click", function () { player(document.getElementById("main"), kept); });
      box.appendChild(button);
      area.insertBefore(box, area.firstChild);
      area.hidden = false;
    }
    var waiting = waitingArea(area, owner, function (all, justSent) {
      carryOn(all);
      if (justSent && justSent.state === "sent") starts.forEach(function (form) { form.hidden = true; });
    });
    allKept().then(function (records) {
      // Copies of sessions the server already has (the day is no longer planned) go.
      var stale = records.filter(function (r) {
        return !r.offline && r.owner === owner && (r.day !== day || area.dataset.status !== "planned");
      });
      return Promise.all(stale.map(function (r) { return forget(r.log_id); })).then(function () { return records; });
    }).then(function (records) {
      // A step that could not reach the server came back as this page: carry on here.
      if (location.pathname.indexOf("/me/session/") === 0 && plan) {
        var mirror = records.filter(function (r) { return r.owner === owner && r.day === day && !r.offline; }).pop();
        if (mirror) takeOver(mirror);
      }
    }).then(function () { waiting.show(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!("indexedDB" in window)) return;
    var plan = readPlan();
    document.querySelectorAll("[data-session-sent]").forEach(function (node) {
      forget(node.dataset.sessionSent).catch(function () {});
    });
    if (plan) {
      document.querySelectorAll("form[data-player], form[data-offline]").forEach(function (form) { watchForm(form, plan); });
      if (location.pathname !== "/me" && navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({ keep: "/me" });
      }
    }
    var area = document.querySelector("[data-device-sessions]");
    if (area) today(area, plan);
  });
})();
