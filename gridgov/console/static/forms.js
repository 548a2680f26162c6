// Market forms post to /console/markets/<id>/…: the market chosen in the form picks the URL.
(function () {
  "use strict";
  document.querySelectorAll("form.market-form").forEach((form) => {
    const select = form.querySelector(".market-select");
    const template = form.dataset.actionTemplate;
    const update = () => {
      form.action = template.replace(/\/0\//, `/${select.value}/`);
    };
    select.addEventListener("change", update);
    update();
  });
})();
