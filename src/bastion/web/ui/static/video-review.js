// Review videos: never autoplay, always muted, blurred until the reviewer unblurs, and report seconds watched.
(function () {
  const FLUSH_SECONDS = 5;
  document.querySelectorAll("video.review-video").forEach((video) => {
    if (video.dataset.bound) return;
    video.dataset.bound = "1";
    video.autoplay = false;
    video.muted = true;
    video.addEventListener("volumechange", () => { if (!video.muted) video.muted = true; });
    let last = null;
    let pending = 0;
    const flush = () => {
      const seconds = Math.min(60, pending);
      if (seconds < 0.5) return;
      pending -= seconds;
      fetch(video.dataset.watched, {
        method: "POST", keepalive: true, credentials: "same-origin",
        headers: {"X-CSRF-Token": video.dataset.csrf, "Content-Type": "application/x-www-form-urlencoded"},
        body: new URLSearchParams({seconds: seconds.toFixed(2)}),
      }).then((r) => r.ok ? r.json() : null).then((body) => {
        const shown = document.querySelector("#video-" + video.closest(".video-review").dataset.item + " .video-exposure");
        if (body && shown) shown.dataset.videoSeconds = body.video_seconds_today;
      }).catch(() => {});
    };
    video.addEventListener("timeupdate", () => {
      const now = video.currentTime;
      if (last !== null && !video.paused && !video.seeking) {
        const step = now - last;
        if (step > 0 && step < 1.5) pending += step;  // played, not jumped
      }
      last = now;
      if (pending >= FLUSH_SECONDS) flush();
    });
    video.addEventListener("seeking", () => { last = null; });
    ["pause", "ended"].forEach((name) => video.addEventListener(name, flush));
    window.addEventListener("pagehide", flush);
    const button = video.parentElement.querySelector("button.unblur-video");
    if (button) button.addEventListener("click", () => {
      const blurred = video.classList.toggle("blurred-video");
      button.textContent = blurred ? "Unblur the video" : "Blur the video again";
    });
  });
})();
