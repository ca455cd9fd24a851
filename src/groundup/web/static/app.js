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
