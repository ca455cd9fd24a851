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

  // <div data-rest data-seconds="45"> shows a rest countdown when its button is pressed
  function rest(root) {
    var seconds = Number(root.dataset.seconds || 45);
    var button = root.querySelector("[data-start]");
    var display = root.querySelector("[data-time]");
    var timer = null;
    button.addEventListener("click", function () {
      var left = seconds;
      clearInterval(timer);
      display.textContent = left + " s rest";
      timer = setInterval(function () {
        left -= 1;
        display.textContent = left > 0 ? left + " s rest" : "Go!";
        if (left <= 0) clearInterval(timer);
      }, 1000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-metronome]").forEach(metronome);
    document.querySelectorAll("[data-countdown]").forEach(countdown);
    document.querySelectorAll("[data-rest]").forEach(rest);
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

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    guardPlayer();
    document.querySelectorAll("[data-local-hour]").forEach(localHour);
    document.querySelectorAll("[data-pain-rules]").forEach(painRules);
    document.querySelectorAll("form").forEach(askIf);
    document.querySelectorAll("[data-step-for]").forEach(stepper);
    document.querySelectorAll("[data-metronome][data-target]").forEach(metronomeTarget);
  });
})();
