# Die Texte des Widgets auf Deutsch.

## Vor dem Chat.

launcher-label = Chatten Sie mit uns
invitation =
    .aria-label = Chat-Einladung
invitation-accept = Jetzt chatten
invitation-decline = Nein, danke

## Der Kopf des Fensters.

status-connecting = Wir verbinden Sie mit unserem Team…
status-waiting = Warten auf einen Mitarbeiter · gleich ist jemand für Sie da
status-waiting-position = Warten auf einen Mitarbeiter · Sie sind Nummer { $position }
status-agent = { $name } ist für Sie da.
status-agent-unnamed = Ein Mitarbeiter ist für Sie da.
status-offline = Wir antworten Ihnen hier.
status-ended = Dieser Chat ist beendet.
ended-title = Chat beendet
minimise = Minimieren
    .aria-label = Chat minimieren
end-chat = Chat beenden
close = Schließen
open-chat =
    { $count ->
        [0] Chat öffnen
        [one] Chat öffnen, { $count } neue Nachricht
       *[other] Chat öffnen, { $count } neue Nachrichten
    }

## Einen Chat beenden.

end-question = Diesen Chat beenden? Sie können später einen neuen beginnen.
keep-chatting = Weiterchatten
thanks = Danke für das Gespräch.
start-new-chat = Neuen Chat beginnen
ended-hint = Dieser Chat ist beendet. Schließen Sie ihn, um zur Seite zurückzukehren.

## Das Gespräch.

messages = Nachrichten
new-message = Neue Nachricht ↓
you = Sie
typing = { $name } schreibt…
sending = Wird gesendet…
delivered = Zugestellt
composer = Ihre Nachricht
    .aria-label = Nachricht
send = Senden
reconnecting = Verbindung wird wiederhergestellt… Ihre Nachrichten bleiben erhalten und werden gesendet, sobald wir wieder verbunden sind.

## Was im Gespräch geschah.

note-monitoring = Ein Supervisor verfolgt das Gespräch.
note-joined = Ein Supervisor ist dem Gespräch beigetreten.
note-left = Der Supervisor hat das Gespräch verlassen.
note-force-closed = Ein Supervisor hat dieses Gespräch beendet.

## Wenn der Server etwas ablehnt.

error-rate-limited = Sie senden sehr schnell. Wir senden Ihre Nachricht gleich.
error-too-long = Diese Nachricht ist zu lang. Bitte kürzen Sie sie und senden Sie sie erneut.
error-empty = Bitte schreiben Sie zuerst eine Nachricht.
error-ended = Dieser Chat ist beendet.
error-other = Entschuldigung, bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es gleich noch einmal.
error-offline-rate-limited = Sie haben bereits mehrere Nachrichten gesendet. Bitte warten Sie einen Moment, bevor Sie eine weitere senden.
error-offline-bad-request = Bitte prüfen Sie Ihren Namen, Ihre E-Mail-Adresse und Ihre Nachricht.
error-offline-duplicate = Sie haben für diesen Chat bereits eine Nachricht hinterlassen.

## Das Formular für Nachrichten außerhalb der Geschäftszeiten.

offline-name = Ihr Name (optional)
    .aria-label = Ihr Name
offline-email = Ihre E-Mail-Adresse
offline-message = Ihre Nachricht
offline-send = Nachricht hinterlassen
offline-stored = Danke. Wir antworten Ihnen an { $email }.
