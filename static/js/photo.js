/* Balance: a profile photo larger than the upload limit is made smaller in the browser before it
   is sent (phone photos are often 5-12 MB). The server still checks and re-encodes every upload;
   without script, or if the browser cannot shrink it, the form names the limit in the photo field
   and keeps the other edits. Canvas re-encoding also drops the photo's hidden data (location). */
(function () {
  "use strict";
  var MAX_SIDE = 2048;

  function shrink(file) {
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) bitmap.close();
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.88); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-photo-max-bytes]").forEach(function (box) {
      var input = box.querySelector("input[type=file]");
      var status = box.querySelector("[data-photo-status]");
      var maxBytes = parseInt(box.getAttribute("data-photo-max-bytes"), 10);
      var megabytes = Math.floor(maxBytes / 1048576);
      if (!input || !status || !maxBytes) return;
      var submits = input.form ? input.form.querySelectorAll("button[type=submit]") : [];
      function busy(on) { submits.forEach(function (b) { b.disabled = on; }); }

      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        status.textContent = "";
        if (!file || file.size <= maxBytes) return;
        if (!window.createImageBitmap || !window.DataTransfer) {
          status.textContent = "This photo is larger than " + megabytes + " MB. Please choose a smaller image.";
          return;
        }
        status.textContent = "Making your photo smaller before it is uploaded…";
        busy(true);
        shrink(file).then(function (blob) {
          if (!blob || blob.size > maxBytes) throw new Error("still too large");
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          var smaller = new DataTransfer();
          smaller.items.add(new File([blob], name, { type: "image/jpeg" }));
          input.files = smaller.files;  // does not fire "change" again
          status.textContent = "Your photo was made smaller (" + Math.round(blob.size / 1024) +
            " KB) and is ready to upload.";
        }).catch(function () {
          input.value = "";
          status.textContent = "This photo is larger than " + megabytes +
            " MB and could not be made smaller here. Please choose a smaller image.";
        }).then(function () { busy(false); });
      });
    });
  });
})();
