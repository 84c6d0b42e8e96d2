// Reproduces "my training loss spikes once per epoch", diagnoses it with BatchGuard, and shows the fixes.
return EpochSpikes.EpochSpikesApp.Run(args, Console.Out, Console.Error);
