// groundup's own small helpers: a metronome, a countdown/stopwatch and a rest timer.
// Elements opt in with data attributes; nothing here is needed to use the pages.
(function () {
  "use strict";

  function beep(context) {
    if (!context) return;
    var osc = context.createOscillator();
    var gain = context.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain);
    gain.connect(context.destination);
    osc.start();
    osc.stop(context.currentTime + 0.06);
  }

  // <div data-metronome data-bpm="60"> with a button[data-start], .beat and [data-count]
  function metronome(root) {
    var bpm = Number(root.dataset.bpm || 60);
    var button = root.querySelector("[data-start]");
    var dot = root.querySelector(".beat");
    var counter = root.querySelector("[data-count]");
    var timer = null, beats = 0, audio = null;
    button.addEventListener("click", function () {
      if (timer) {
        clearInterval(timer); timer = null; button.textContent = "Start the beat";
        return;
      }
      try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
      beats = 0;
      button.textContent = "Stop";
      timer = setInterval(function () {
        beats += 1;
        dot.classList.toggle("on");
        if (counter) counter.textContent = String(Math.floor(beats / 2)) + " reps (" + beats + " beats)";
        beep(audio);
      }, 60000 / bpm);
    });
  }

  // <div data-countdown data-seconds="45"> with button[data-start] and [data-time]
  function countdown(root) {
    var total = Number(root.dataset.seconds || 45);
    var button = root.querySelector("[data-start]");
    var display = root.querySelector("[data-time]");
    var target = root.dataset.target ? document.getElementById(root.dataset.target) : null;
    var started = null, timer = null;
    function show(seconds) { display.textContent = seconds.toFixed(1) + " s"; }
    show(0);
    button.addEventListener("click", function () {
      if (timer) {
        clearInterval(timer); timer = null;
        var held = Math.min(total, (Date.now() - started) / 1000);
        if (target) target.value = held.toFixed(1);
        button.textContent = "Start the clock";
        return;
      }
      started = Date.now();
      button.textContent = "Stop";
      timer = setInterval(function () {
        var held = (Date.now() - started) / 1000;
        if (held >= total) {
          clearInterval(timer); timer = null; held = total;
          if (target) target.value = String(total);
          button.textContent = "Start the clock";
        }
        show(Math.min(held, total));
      }, 100);
    });
  }

  // The end of a rest or a hold: a short sound and a buzz. The sound goes through the
  // device's own volume and silent switch; no buzz when the person asks for reduced motion.
  function timeUp(audio) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      beep(audio);
      setTimeout(function () { beep(audio); }, 180);
    } catch (e) { /* no sound on this device */ }
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (!still && navigator.vibrate) navigator.vibrate([200, 100, 200]);
    return audio;
  }

  // <div data-rest data-seconds="45"> (or data-hold) with button[data-start] and [data-time]:
  // a countdown that ends with a sound and a buzz. A rest says "Go!"; a hold says "Done".
  function rest(root) {
    var seconds = Number(root.dataset.seconds || 45);
    var hold = root.hasAttribute("data-hold");
    var button = root.querySelector("[data-start]");
    var display = root.querySelector("[data-time]");
    var timer = null, audio = null;
    button.addEventListener("click", function () {
      var left = seconds;
      // Made on the tap, so the browser lets it play when the time is up.
      try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
      clearInterval(timer);
      root.classList.remove("time-up");
      display.textContent = left + (hold ? " s to go" : " s rest");
      timer = setInterval(function () {
        left -= 1;
        display.textContent = left > 0 ? left + (hold ? " s to go" : " s rest") : (hold ? "Done!" : "Go!");
        if (left <= 0) {
          clearInterval(timer);
          root.classList.add("time-up");
          audio = timeUp(audio);
        }
      }, 1000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-metronome]").forEach(metronome);
    document.querySelectorAll("[data-countdown]").forEach(countdown);
    document.querySelectorAll("[data-rest], [data-hold]").forEach(rest);
  });
})();

/* person pages */
// Screen questions and sections that only apply after a "yes" (data-ask-if names the
// earlier answers, any one of which opens them), the − / + buttons beside a set's number,
// and a metronome that fills in its reps.
(function () {
  "use strict";

  function answered(form, name) {
    var fields = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < fields.length; i += 1) {
      var field = fields[i];
      if (field.closest("[hidden]")) continue;  // a question not asked counts as no
      if (field.type === "radio") {
        if (field.checked && field.value === "yes") return true;
      } else if (field.value.trim() !== "") {
        return true;
      }
    }
    return false;
  }

  function askIf(form) {
    var questions = form.querySelectorAll("[data-ask-if]");
    if (!questions.length) return;
    function update() {
      questions.forEach(function (q) {
        q.hidden = !q.dataset.askIf.split(" ").some(function (name) {
          return answered(form, name);
        });
      });
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  function stepper(button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.stepFor);
      if (!input) return;
      var value = parseFloat(String(input.value).replace(",", "."));
      if (isNaN(value)) value = 0;
      value = Math.max(0, value + Number(button.dataset.delta || 1));
      input.value = String(Math.round(value * 10) / 10);
    });
  }

  function metronomeTarget(root) {
    var input = document.getElementById(root.dataset.target);
    var button = root.querySelector("[data-start]");
    var counter = root.querySelector("[data-count]");
    var running = false;
    if (!input || !button || !counter) return;
    button.addEventListener("click", function () {
      running = !running;
      if (!running) {
        var reps = parseInt(counter.textContent, 10);
        if (!isNaN(reps)) input.value = String(reps);
      }
    });
  }

  // The player's pain scale says at once what a high answer will do (thresholds from the
  // page: data-stop-at ends the exercise, data-end-at ends the session).
  function painRules(root) {
    var says = root.querySelector("[data-pain-says]");
    var stopAt = Number(root.dataset.stopAt), endAt = Number(root.dataset.endAt);
    function update() {
      var chosen = root.querySelector('input[name="pain"]:checked');
      var pain = chosen ? Number(chosen.value) : -1;
      if (pain >= endAt) {
        says.textContent = "Pain " + pain + ": the session stops here. Press the button below and what you did is saved.";
      } else if (pain >= stopAt) {
        says.textContent = "Pain " + pain + ": stop this exercise now. Press the button below: the sets you did are kept and the next exercise comes.";
      } else {
        says.textContent = "";
      }
      says.hidden = says.textContent === "";
    }
    root.addEventListener("change", update);
    update();
  }

  // A session in progress: leaving the player by anything but its own buttons asks first.
  // (What was done up to the last step is kept on the server and offered again on Today.)
  function guardPlayer() {
    var forms = document.querySelectorAll("form[data-player]");
    if (!forms.length) return;
    var leaving = false;
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function () { leaving = true; });
    });
    window.addEventListener("beforeunload", function (event) {
      if (leaving) return;
      event.preventDefault();
      event.returnValue = "";
    });
  }

  // The check-in knows the person's local hour: in the morning it is that morning's, and
  // only later in the day is the person asked which morning they mean.
  function localHour(input) {
    var hour = new Date().getHours();
    input.value = String(hour);
    var ask = document.querySelector("[data-afternoon-only]");
    if (ask && hour < 12 && !ask.classList.contains("has-error")) ask.hidden = true;
  }

  // "Same as the last one": pain and effort in one tap.
  function sameAsBefore(button) {
    var form = button.closest("form");
    button.hidden = false;
    button.addEventListener("click", function () {
      [["pain", button.dataset.pain], ["effort", button.dataset.effort]].forEach(function (pair) {
        if (!pair[1]) return;
        var input = form.querySelector('input[name="' + pair[0] + '"][value="' + pair[1] + '"]');
        if (input) { input.checked = true; input.dispatchEvent(new Event("change", { bubbles: true })); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    guardPlayer();
    document.querySelectorAll("[data-same]").forEach(sameAsBefore);
    document.querySelectorAll("[data-local-hour]").forEach(localHour);
    document.querySelectorAll("[data-pain-rules]").forEach(painRules);
    document.querySelectorAll("form").forEach(askIf);
    document.querySelectorAll("[data-step-for]").forEach(stepper);
    document.querySelectorAll("[data-metronome][data-target]").forEach(metronomeTarget);
  });
})();
