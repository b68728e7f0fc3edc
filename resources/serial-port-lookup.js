/* global RED, $ */
// The editor's "find serial ports" button of flm-p1 and flm-board: asks the one admin
// endpoint for the ports the runtime sees and offers them under the port field.
(function () {
  window.flmSerialPortLookup = function (button, endpoint, example) {
    $(button).on('click', function () {
      var btn = $(this);
      btn.addClass('disabled');
      $.getJSON(endpoint, function (ports) {
        btn.removeClass('disabled');
        if (!ports || !ports.length) {
          RED.notify('No serial ports found (the list needs udev). Type the path, e.g. ' + example + '.', 'warning');
          return;
        }
        $('#node-input-port').autocomplete({
          source: ports,
          minLength: 0,
          close: function () { $('#node-input-port').autocomplete('destroy'); }
        }).autocomplete('search', '');
      }).fail(function () { btn.removeClass('disabled'); });
    });
  };
})();
