// Lock page: shows who locked the workstation and the idle countdown. Talks only to
// window.agent (preload). The badge tap-in flow is built on this page's keyboard handler.
'use strict';
(function () {
  const owner = document.getElementById('owner');
  const warning = document.getElementById('warning');
  window.agent.onLockState(function (s) {
    owner.textContent = s.owner ? 'In use by ' + s.owner + '. Only they can resume this session.' : '';
  });
  window.agent.onWarning(function (w) {
    warning.hidden = w.secondsLeft === null;
    if (w.secondsLeft !== null) warning.textContent = 'Locking in ' + w.secondsLeft + ' s — move the mouse to stay signed in.';
  });
})();
