from keras_lstm_ae.cli import main

raise SystemExit(main())
